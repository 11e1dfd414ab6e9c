import SkylarkBase
import Testing
@testable import Store

@Suite struct StreamTokenTests {
    @Test func createListGetDelete() throws {
        let clock = TestClock()
        let store = try Store(path: ":memory:", durability: .normal, clock: clock.function)
        let (b, _, noView) = try store.createStream(name: "b", viewRequiresToken: false)
        clock.now += 5
        let (a, _, view) = try store.createStream(name: "a", viewRequiresToken: true)
        #expect(noView == nil && view != nil)
        #expect(b == StreamRecord(name: "b", viewRequiresToken: false, createdAt: 1_700_000_000))
        #expect(a == StreamRecord(name: "a", viewRequiresToken: true, createdAt: 1_700_000_005))
        #expect(try store.streams() == [a, b])
        #expect(try store.stream(named: "a") == a)
        #expect(try store.stream(named: "c") == nil)
        #expect(throws: StoreError.conflict("a stream named \"a\" already exists")) {
            try store.createStream(name: "a", viewRequiresToken: false)
        }
        #expect(try store.deleteStream(named: "a"))
        #expect(try !store.deleteStream(named: "a"))
        #expect(try store.streams() == [b])
        #expect(throws: StoreError.invalid("empty stream name")) { try store.createStream(name: "", viewRequiresToken: false) }
    }

    @Test func tokensAreRandomBase64URLAndStoredOnlyAsHashes() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("tokens.db")
        let store = try Store(path: path, durability: .normal)
        defer { store.close() }
        let (_, publish, view) = try store.createStream(name: "s", viewRequiresToken: true)
        let (_, api) = try store.createAPIToken(name: "admin")
        let tokens = [publish, try #require(view), api]
        #expect(Set(tokens).count == 3)
        for token in tokens {
            #expect(token.utf8.count == 43)   // 32 bytes, unpadded
            let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
            #expect(token.utf8.allSatisfy(alphabet.contains))
            #expect(Base64.url.decode(token)?.count == 32)
        }

        let rows = try rawQuery(path, "SELECT publish_token_hash, view_token_hash FROM streams")
            + rawQuery(path, "SELECT token_hash, NULL FROM api_tokens")
        let hashes = rows.flatMap { $0 }.compactMap { $0 }
        #expect(hashes.count == 3)
        #expect(Set(hashes) == Set(tokens.map(Secret.hash)))
        for hash in hashes {
            #expect(hash.utf8.count == 64)
            #expect(hash.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        }
        // No token appears anywhere in the tables, in any column.
        let everything = try rawQuery(path, "SELECT * FROM streams") + rawQuery(path, "SELECT * FROM api_tokens")
        for value in everything.flatMap({ $0 }).compactMap({ $0 }) {
            for token in tokens { #expect(!value.contains(token)) }
        }
    }

    @Test func hashIsSHA256Hex() {
        // FIPS 180-2 test vector.
        #expect(Secret.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Secret.hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func publishTokenChecks() throws {
        let store = try Store(path: ":memory:", durability: .normal)
        let (_, publish, _) = try store.createStream(name: "live", viewRequiresToken: false)
        #expect(try store.checkPublishToken(stream: "live", token: publish) == .allowed)
        #expect(try store.checkPublishToken(stream: "live", token: publish + "x") == .wrongToken)
        #expect(try store.checkPublishToken(stream: "live", token: "") == .wrongToken)
        #expect(try store.checkPublishToken(stream: "live", token: nil) == .wrongToken)
        #expect(try store.checkPublishToken(stream: "live", token: String(repeating: "a", count: 100_000)) == .wrongToken)
        #expect(try store.checkPublishToken(stream: "other", token: publish) == .unknownStream)
        #expect(try store.checkPublishToken(stream: "LIVE", token: publish) == .unknownStream)
    }

    @Test func viewTokenOnlyWhenRequired() throws {
        let store = try Store(path: ":memory:", durability: .normal)
        let (_, publish, _) = try store.createStream(name: "open", viewRequiresToken: false)
        #expect(try store.checkViewToken(stream: "open", token: nil) == .allowed)
        #expect(try store.checkViewToken(stream: "open", token: "anything") == .allowed)
        #expect(try store.checkViewToken(stream: "nope", token: nil) == .unknownStream)

        let (_, _, view) = try store.createStream(name: "private", viewRequiresToken: true)
        #expect(try store.checkViewToken(stream: "private", token: view) == .allowed)
        #expect(try store.checkViewToken(stream: "private", token: nil) == .wrongToken)
        #expect(try store.checkViewToken(stream: "private", token: "wrong") == .wrongToken)
        // A publish token is not a view token, and the other way round.
        let (_, privatePublish, _) = try store.createStream(name: "private2", viewRequiresToken: true)
        #expect(try store.checkViewToken(stream: "private2", token: privatePublish) == .wrongToken)
        #expect(try store.checkPublishToken(stream: "private", token: view) == .wrongToken)
        #expect(try store.checkPublishToken(stream: "private", token: publish) == .wrongToken)
    }

    @Test func rotationReplacesTheOldToken() throws {
        let store = try Store(path: ":memory:", durability: .normal)
        let (_, oldPublish, _) = try store.createStream(name: "s", viewRequiresToken: false)
        let newPublish = try #require(try store.rotateToken(stream: "s", kind: .publish))
        #expect(newPublish != oldPublish)
        #expect(try store.checkPublishToken(stream: "s", token: oldPublish) == .wrongToken)
        #expect(try store.checkPublishToken(stream: "s", token: newPublish) == .allowed)

        // Rotating the view token turns the requirement on.
        let view1 = try #require(try store.rotateToken(stream: "s", kind: .view))
        #expect(try store.stream(named: "s")?.viewRequiresToken == true)
        #expect(try store.checkViewToken(stream: "s", token: nil) == .wrongToken)
        #expect(try store.checkViewToken(stream: "s", token: view1) == .allowed)
        let view2 = try #require(try store.rotateToken(stream: "s", kind: .view))
        #expect(try store.checkViewToken(stream: "s", token: view1) == .wrongToken)
        #expect(try store.checkViewToken(stream: "s", token: view2) == .allowed)
        #expect(try store.checkPublishToken(stream: "s", token: newPublish) == .allowed)

        #expect(try store.rotateToken(stream: "missing", kind: .publish) == nil)
        #expect(try store.rotateToken(stream: "missing", kind: .view) == nil)
    }

    @Test func setViewRequiresToken() throws {
        let store = try Store(path: ":memory:", durability: .normal)
        _ = try store.createStream(name: "s", viewRequiresToken: false)
        let view = try #require(try store.setViewRequiresToken(stream: "s", true))
        #expect(try store.checkViewToken(stream: "s", token: view) == .allowed)
        #expect(try store.checkViewToken(stream: "s", token: nil) == .wrongToken)
        // Already on: no new token, the existing one keeps working.
        #expect(try store.setViewRequiresToken(stream: "s", true) == nil)
        #expect(try store.checkViewToken(stream: "s", token: view) == .allowed)
        #expect(try store.setViewRequiresToken(stream: "s", false) == nil)
        #expect(try store.stream(named: "s")?.viewRequiresToken == false)
        #expect(try store.checkViewToken(stream: "s", token: nil) == .allowed)
        // Turning it on again issues a fresh token; the old one is gone.
        let again = try #require(try store.setViewRequiresToken(stream: "s", true))
        #expect(try store.checkViewToken(stream: "s", token: view) == .wrongToken)
        #expect(try store.checkViewToken(stream: "s", token: again) == .allowed)
        #expect(try store.setViewRequiresToken(stream: "missing", true) == nil)
    }

    @Test func hostileNamesAreBoundNotSpliced() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try Store(path: dir.file("names.db"), durability: .normal)
        defer { store.close() }
        let names = [
            "it's", "\"quoted\"", "x'); DROP TABLE streams; --", "a' OR '1'='1", "ストリーム", "🎙️ live", "%_*",
            "tab\there", "e\u{301}", "é", "back\\slash", "?", "?1", ":name", "@p", "$v",
        ]
        // An array, not a dictionary: Swift's String equality is canonical equivalence ("e\u{301}" == "é"), while
        // SQLite compares bytes, so those two are distinct streams.
        var tokens: [String] = []
        for name in names {
            tokens.append(try store.createStream(name: name, viewRequiresToken: false).publishToken)
        }
        #expect(try store.streams().count == names.count)
        for (name, token) in zip(names, tokens) {
            #expect(try store.stream(named: name)?.name == name, "\(name)")
            #expect(try store.checkPublishToken(stream: name, token: token) == .allowed, "\(name)")
        }
        // A wildcard or always-true fragment must not match other rows.
        #expect(try store.checkPublishToken(stream: "a' OR '1'='1' --", token: tokens[0]) == .unknownStream)
        #expect(try store.stream(named: "%") == nil)
        // Canonically equivalent but differently encoded strings stay distinct keys (bytes are compared).
        #expect(try store.stream(named: "e\u{301}")?.name.utf8.count == 3)
        #expect(try store.stream(named: "é")?.name.utf8.count == 2)
        #expect(try store.deleteStream(named: "x'); DROP TABLE streams; --"))
        #expect(try store.streams().count == names.count - 1)
        #expect(throws: StoreError.invalid("stream name contains a NUL character")) {
            try store.createStream(name: "nul\0byte", viewRequiresToken: false)
        }
    }
}
