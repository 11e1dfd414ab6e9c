import HTTP
import SDP
import Testing
import WHIP

@testable import SFU

/// The HTTP mapping of RFC 9725 (WHIP) and WHEP onto the SFU, request by request (no sockets).
@Suite struct WHIPEndpointTests {
    func request(_ method: String, _ target: String, type: String? = nil, body: String = "",
                 headers: [(String, String)] = []) -> HTTPRequest {
        var all = headers
        if let type { all.append(("Content-Type", type)) }
        return HTTPRequest(method: method, target: target, headers: HTTPHeaders(all), body: Array(body.utf8))
    }

    @Test func sessionLifecycleOverHTTP() async throws {
        let sfu = try makeLoopbackSFU()
        defer { sfu.shutdown() }
        let server = WHIPServer(sfu: sfu, configuration: WHIPConfiguration(iceServers: ICEServerLinks(urls: ["stun:stun.example.net"])),
                                access: StaticAccessPolicy())

        // RFC 9725 §4.2: 201 with the answer, Location and ETag.
        let created = try #require(await server.handle(request("POST", "/whip/cam", type: "application/sdp",
                                                                body: CapturedOffers.text("chromium-whip-audio"))))
        #expect(created.status == 201)
        #expect(created.headers["Content-Type"] == "application/sdp")
        let location = try #require(created.headers["Location"])
        #expect(location.hasPrefix("/whip/cam/"))
        let etag = try #require(created.headers["ETag"])
        #expect(created.headers.values(for: "Link").contains("<stun:stun.example.net>; rel=\"ice-server\""))
        let answer = try SessionDescription(parsing: String(decoding: created.body, as: UTF8.self))
        #expect(answer.isICELite)

        // The offer must be application/sdp (415), the stream busy (409).
        #expect(await server.handle(request("POST", "/whip/cam", type: "text/plain", body: "v=0"))?.status == 415)
        #expect(await server.handle(request("POST", "/whip/cam", type: "application/sdp",
                                            body: CapturedOffers.text("firefox-whip-audio")))?.status == 409)
        #expect(await server.handle(request("POST", "/whip/cam", type: "application/sdp",
                                            body: "v=0\r\nnonsense\r\n"))?.status == 400)
        #expect(await server.handle(request("POST", "/whep/cam", type: "application/sdp",
                                            body: CapturedOffers.text("chromium-whip-audio")))?.status == 400)
        #expect(await server.handle(request("POST", "/whip/bad%20name!", type: "application/sdp",
                                            body: CapturedOffers.text("chromium-whip-audio")))?.status == 400)

        // PATCH (RFC 9725 §4.3): If-Match is required and must match.
        let trickle = "a=mid:0\r\na=candidate:1 1 udp 2122260223 192.0.2.9 50000 typ host\r\na=end-of-candidates\r\n"
        let fragType = "application/trickle-ice-sdpfrag"
        #expect(await server.handle(request("PATCH", location, type: fragType, body: trickle))?.status == 428)
        #expect(await server.handle(request("PATCH", location, type: fragType, body: trickle,
                                            headers: [("If-Match", "\"nope\"")]))?.status == 412)
        #expect(await server.handle(request("PATCH", location, type: fragType, body: trickle,
                                            headers: [("If-Match", etag)]))?.status == 204)
        #expect(await server.handle(request("PATCH", location, type: "application/sdp", body: trickle,
                                            headers: [("If-Match", etag)]))?.status == 415)
        // An ICE restart as a browser sends it (CRLF): 200 with the server's new credentials and a new ETag.
        let restart = "a=ice-ufrag:nEwU\r\na=ice-pwd:newpasswordnewpassword12\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"
        let restarted = await server.handle(request("PATCH", location, type: fragType, body: restart,
                                                    headers: [("If-Match", "*")]))
        #expect(restarted?.status == 200, "\(String(decoding: restarted?.body ?? [], as: UTF8.self))")
        #expect(restarted?.headers["Content-Type"] == fragType)
        #expect(restarted?.headers["ETag"] != nil && restarted?.headers["ETag"] != etag)

        // The session belongs to /whip/cam only.
        let id = String(location.dropFirst("/whip/cam/".count))
        #expect(await server.handle(request("DELETE", "/whep/cam/\(id)"))?.status == 404)
        #expect(await server.handle(request("DELETE", "/whip/other/\(id)"))?.status == 404)
        #expect(await server.handle(request("DELETE", location))?.status == 200)
        #expect(await server.handle(request("DELETE", location))?.status == 404)
        #expect(await sfu.sessionList().isEmpty)
    }

    @Test func tokensAreChecked() async throws {
        let sfu = try makeLoopbackSFU()
        defer { sfu.shutdown() }
        let server = WHIPServer(sfu: sfu, configuration: WHIPConfiguration(), access: StaticAccessPolicy(publishToken: "secret"))
        let offer = CapturedOffers.text("chromium-whip-audio")
        let denied = await server.handle(request("POST", "/whip/cam", type: "application/sdp", body: offer))
        #expect(denied?.status == 401)
        #expect(denied?.headers["WWW-Authenticate"]?.hasPrefix("Bearer") == true)
        #expect(await server.handle(request("POST", "/whip/cam", type: "application/sdp", body: offer,
                                            headers: [("Authorization", "Bearer wrong")]))?.status == 401)
        #expect(await server.handle(request("POST", "/whip/cam", type: "application/sdp", body: offer,
                                            headers: [("Authorization", "Bearer secret")]))?.status == 201)
    }
}

/// TURN servers in Link headers (RFC 9725 §4.6) with their credentials, fixed or made per response.
@Suite struct ICEServerLinkTests {
    static let turn = "turn:turn.example.net:3478?transport=udp"

    @Test func timeLimitedCredentialsAreMadePerStream() {
        let links = ICEServerLinks(urls: ["stun:stun.example.net", Self.turn],
                                   credentials: .timeLimited(secret: "north-wind", lifetimeSeconds: 600, now: { 1_764_999_400 }))
        #expect(links.values(stream: "radio") == [
            "<stun:stun.example.net>; rel=\"ice-server\"",
            "<\(Self.turn)>; rel=\"ice-server\"; username=\"1765000000:radio\"; credential=\"rw8dLVYQYB1ITyuDXhXpkxHkhNk=\"; credential-type=\"password\"",
        ])
        // Without the right to the stream: the STUN server only.
        #expect(links.values(stream: "radio", withCredentials: false) == ["<stun:stun.example.net>; rel=\"ice-server\""])
    }

    @Test func fixedCredentialsGoWithTURNOnly() {
        let links = ICEServerLinks(urls: ["stun:stun.example.net", Self.turn, "turns:turn.example.net:5349"],
                                   credentials: .fixed(username: "user", credential: "pass"))
        let values = links.values(stream: "any")
        #expect(values[0] == "<stun:stun.example.net>; rel=\"ice-server\"")
        #expect(values[1].hasSuffix("; username=\"user\"; credential=\"pass\"; credential-type=\"password\""))
        #expect(values[2].hasPrefix("<turns:turn.example.net:5349>"))
        #expect(!ICEServerLinks.isQuotable("a\"b") && !ICEServerLinks.isQuotable("a\\b") && ICEServerLinks.isQuotable("user-1:x"))
    }

    @Test func postAndOptionsCarryThemToClientsTheStreamAccepts() async throws {
        let sfu = try makeLoopbackSFU()
        defer { sfu.shutdown() }
        let links = ICEServerLinks(urls: ["stun:stun.example.net", Self.turn],
                                   credentials: .timeLimited(secret: "s", lifetimeSeconds: 600, now: { 1000 }))
        let server = WHIPServer(sfu: sfu, configuration: WHIPConfiguration(iceServers: links),
                                access: StaticAccessPolicy(publishToken: "pub"))
        func request(_ method: String, _ target: String, token: String?, body: String = "") -> HTTPRequest {
            var headers: [(String, String)] = [("Content-Type", "application/sdp")]
            if let token { headers.append(("Authorization", "Bearer \(token)")) }
            return HTTPRequest(method: method, target: target, headers: HTTPHeaders(headers), body: Array(body.utf8))
        }
        func turnLinks(_ response: HTTPResponse?) -> [String] {
            (response?.headers.values(for: "Link") ?? []).filter { $0.hasPrefix("<turn:") }
        }
        // OPTIONS before the offer (RFC 9725 §4.6): credentials with the right token, none without.
        let asked = await server.handle(request("OPTIONS", "/whip/radio", token: "pub"))
        #expect(asked?.status == 204)
        #expect(turnLinks(asked).count == 1 && turnLinks(asked)[0].contains("username=\"1600:radio\""))
        let anonymous = await server.handle(request("OPTIONS", "/whip/radio", token: nil))
        #expect(anonymous?.status == 204)
        #expect(turnLinks(anonymous).isEmpty)
        #expect(anonymous?.headers.values(for: "Link") == ["<stun:stun.example.net>; rel=\"ice-server\""])
        // Viewing needs no token here, so a viewer's OPTIONS gets them.
        #expect(turnLinks(await server.handle(request("OPTIONS", "/whep/radio", token: nil))).count == 1)
        // The 201 carries them too.
        let created = await server.handle(request("POST", "/whip/radio", token: "pub", body: CapturedOffers.text("chromium-whip-audio")))
        #expect(created?.status == 201)
        #expect(turnLinks(created).count == 1)
    }
}
