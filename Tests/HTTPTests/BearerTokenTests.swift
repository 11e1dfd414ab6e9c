import HTTP
import Testing

@Suite struct BearerTokenTests {
    private func token(_ authorization: String?) -> String? {
        var headers: HTTPHeaders = [:]
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        return HTTPRequest(method: "POST", target: "/whip/live", headers: headers).bearerToken
    }

    @Test func theTokenOfABearerHeader() {
        #expect(token("Bearer abc.DEF-123") == "abc.DEF-123")
        // RFC 6750 §2.1 with RFC 9110 §11.1: the scheme is case-insensitive.
        #expect(token("bearer abc") == "abc")
        #expect(token("BEARER  abc \t") == "abc")
    }

    @Test(arguments: [nil, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearerabc", "Token abc"])
    func noTokenOtherwise(_ authorization: String?) {
        #expect(token(authorization) == nil)
    }
}
