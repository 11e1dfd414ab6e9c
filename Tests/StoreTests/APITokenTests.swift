import Testing
@testable import Store

@Suite struct APITokenTests {
    @Test func createVerifyListDelete() throws {
        let clock = TestClock()
        let store = try Store(path: ":memory:", durability: .normal, clock: clock.function)
        let (ci, ciToken) = try store.createAPIToken(name: "ci")
        clock.now += 1
        let (dash, dashToken) = try store.createAPIToken(name: "dashboard")
        #expect(ci.name == "ci" && ci.createdAt == 1_700_000_000 && ci.lastUsedAt == nil)
        #expect(dash.id != ci.id)
        #expect(try store.apiTokens() == [ci, dash])

        clock.now = 1_700_000_100
        let verified = try #require(try store.verifyAPIToken(ciToken))
        #expect(verified.id == ci.id && verified.name == "ci" && verified.lastUsedAt == 1_700_000_100)
        #expect(try store.apiTokens().first?.lastUsedAt == 1_700_000_100)
        #expect(try store.apiTokens().last?.lastUsedAt == nil)

        #expect(try store.verifyAPIToken(ciToken + "x") == nil)
        #expect(try store.verifyAPIToken("") == nil)
        #expect(try store.verifyAPIToken(String(repeating: "z", count: 10_000)) == nil)
        // Stream tokens are not API tokens.
        let (_, publish, _) = try store.createStream(name: "s", viewRequiresToken: false)
        #expect(try store.verifyAPIToken(publish) == nil)

        #expect(try store.deleteAPIToken(id: ci.id))
        #expect(try !store.deleteAPIToken(id: ci.id))
        #expect(try store.verifyAPIToken(ciToken) == nil)
        #expect(try store.verifyAPIToken(dashToken)?.id == dash.id)
        #expect(try store.apiTokens().map(\.id) == [dash.id])
        #expect(throws: StoreError.invalid("empty token name")) { try store.createAPIToken(name: "") }
    }
}
