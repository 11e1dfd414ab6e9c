import HTTP
import SFU
import SkylarkBase
import Synchronization

/// How the WHIP/WHEP endpoints behave.
public struct WHIPConfiguration: Sendable {
    /// STUN/TURN servers announced with `Link: <url>; rel="ice-server"` (RFC 9725 §4.6).
    public var iceServers: ICEServerLinks
    /// Where `public/` is, or nil to serve no pages.
    public var webRoot: String?
    /// `Access-Control-Allow-Origin` for browsers on other origins.
    public var allowedOrigin: String

    public init(iceServers: ICEServerLinks = ICEServerLinks(), webRoot: String? = nil, allowedOrigin: String = "*") {
        self.iceServers = iceServers
        self.webRoot = webRoot
        self.allowedOrigin = allowedOrigin
    }
}

/// The HTTP face of the server: WHIP (RFC 9725) at `/whip/{stream}`, WHEP (draft-ietf-wish-whep) at
/// `/whep/{stream}`, the session resources under them, `/streams` for the index page, and the web pages.
public struct WHIPServer: Sendable {
    public let sfu: SFU
    public let configuration: WHIPConfiguration
    public let access: any AccessPolicy
    private let files: StaticFiles?
    private let creators = SessionCreators()

    public init(sfu: SFU, configuration: WHIPConfiguration, access: any AccessPolicy) {
        self.sfu = sfu
        self.configuration = configuration
        self.access = access
        files = configuration.webRoot.map(StaticFiles.init(root:))
    }

    /// Answers one request; returns nil for paths this layer does not own.
    public func handle(_ request: HTTPRequest) async -> HTTPResponse? {
        // Split the path as sent, before percent-decoding, so "%2F" cannot smuggle a "/" into a stream name.
        let rawPath = request.target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? request.path
        let parts = (rawPath.hasPrefix("/") ? rawPath : request.path)
            .split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let first = parts.first, first == "whip" || first == "whep" else {
            if request.path == "/streams", request.method == "GET" || request.method == "HEAD" { return await streams() }
            return staticFile(request)
        }
        let publishing = first == "whip"
        guard parts.count == 2 || parts.count == 3 else {
            return cors(.problem(status: 404, detail: "use /\(first)/{stream} and the Location it returns"))
        }
        let stream = parts[1]
        guard Self.isValidStreamName(stream) else {
            return cors(.problem(status: 400, title: "Bad stream name",
                                 detail: Self.streamNameRule))
        }
        var response: HTTPResponse
        if parts.count == 2 {
            switch request.method {
            case "OPTIONS":
                // A client may ask for the ICE servers before it makes its offer (RFC 9725 §4.6); TURN
                // credentials only go to one the stream would accept. A browser's CORS preflight carries no
                // token, so on a stream that needs one it learns only the STUN servers here.
                response = preflight(allow: "POST, OPTIONS")
                let allowed = await authorize(request, stream: stream, publishing: publishing).map { _ in false } ?? true
                addICEServerLinks(&response, stream: stream, withCredentials: allowed)
            case "POST": response = await create(request, stream: stream, publishing: publishing)
            default:
                response = .problem(status: 405, detail: "\(request.method) is not allowed here; POST an SDP offer")
                response.headers.add(name: "Allow", value: "POST, OPTIONS")
            }
        } else {
            let id = parts[2]
            switch request.method {
            case "OPTIONS": response = preflight(allow: "PATCH, DELETE, OPTIONS")
            case "PATCH": response = await patch(request, stream: stream, id: id, publishing: publishing)
            case "DELETE": response = await delete(request, stream: stream, id: id, publishing: publishing)
            default:
                response = .problem(status: 405, detail: "\(request.method) is not allowed on a session; PATCH or DELETE it")
                response.headers.add(name: "Allow", value: "PATCH, DELETE, OPTIONS")
            }
        }
        return cors(response)
    }

    // MARK: - Resources

    private func create(_ request: HTTPRequest, stream: String, publishing: Bool) async -> HTTPResponse {
        guard Self.mediaType(request) == "application/sdp" else {
            return .problem(status: 415, title: "Unsupported Media Type",
                            detail: "the offer must be sent with Content-Type: application/sdp")
        }
        if let denied = await authorize(request, stream: stream, publishing: publishing) { return denied }
        let offer = request.bodyText
        guard !offer.isEmpty else { return .problem(status: 400, detail: "the request has no SDP offer in its body") }
        let result: (id: String, answer: String, etag: String)
        do {
            if publishing {
                let replace = request.query["replace"].map { $0 == "1" || $0 == "true" } ?? false
                result = try await sfu.publish(stream: stream, offer: offer, replace: replace)
            } else {
                // `?layer=high|medium|low|<rid>`: which simulcast layer the viewer starts on.
                var layer = LayerPreference.high
                if let text = request.query["layer"] {
                    guard let parsed = LayerPreference(text) else {
                        return .problem(status: 400, detail: "layer must be high, medium, low or a rid (letters, digits, '-', '_')")
                    }
                    layer = parsed
                }
                result = try await sfu.play(stream: stream, offer: offer, layer: layer)
            }
        } catch {
            return problem(error, stream: stream)
        }
        if let token = request.bearerToken { creators.remember(session: result.id, token: token) }
        var response = HTTPResponse(status: 201, body: Array(result.answer.utf8))
        response.headers.add(name: "Content-Type", value: "application/sdp")
        response.headers.add(name: "Location", value: "/\(publishing ? "whip" : "whep")/\(stream)/\(result.id)")
        response.headers.add(name: "ETag", value: result.etag)
        addICEServerLinks(&response, stream: stream)
        return response
    }

    private func patch(_ request: HTTPRequest, stream: String, id: String, publishing: Bool) async -> HTTPResponse {
        guard Self.mediaType(request) == "application/trickle-ice-sdpfrag" else {
            return .problem(status: 415, title: "Unsupported Media Type",
                            detail: "PATCH takes Content-Type: application/trickle-ice-sdpfrag (RFC 8840)")
        }
        if let denied = await authorizeSession(request, id: id, stream: stream, publishing: publishing) { return denied }
        guard await owns(id: id, stream: stream, publishing: publishing) else {
            return .problem(status: 404, detail: "no such session")
        }
        do {
            switch try await sfu.patch(sessionID: id, fragment: request.bodyText, ifMatch: request.headers["If-Match"]) {
            case .trickled:
                return HTTPResponse(status: 204)
            case let .restarted(fragment, etag):
                var response = HTTPResponse(status: 200, body: Array(fragment.utf8))
                response.headers.add(name: "Content-Type", value: "application/trickle-ice-sdpfrag")
                response.headers.add(name: "ETag", value: etag)
                return response
            }
        } catch {
            return problem(error, stream: stream)
        }
    }

    private func delete(_ request: HTTPRequest, stream: String, id: String, publishing: Bool) async -> HTTPResponse {
        if let denied = await authorizeSession(request, id: id, stream: stream, publishing: publishing) { return denied }
        defer { creators.forget(session: id) }
        guard await owns(id: id, stream: stream, publishing: publishing),
              await sfu.end(sessionID: id, reason: "the client ended the session (DELETE)") else {
            return .problem(status: 404, detail: "no such session")
        }
        return HTTPResponse(status: 200)
    }

    private func owns(id: String, stream: String, publishing: Bool) async -> Bool {
        guard let info = await sfu.session(id: id) else { return false }
        return info.stream == stream && info.role == (publishing ? "publisher" : "viewer")
    }

    private func streams() async -> HTTPResponse {
        let list = await sfu.streamList()
        let items = list.map { stream in
            JSON.object([("name", JSON.string(stream.name)), ("publishing", stream.publishing ? "true" : "false"),
                         ("viewers", String(stream.viewers)), ("video", stream.hasVideo ? "true" : "false")])
        }
        var response = HTTPResponse.json(JSON.array(items))
        response.headers.add(name: "Cache-Control", value: "no-store")
        return response
    }

    private func staticFile(_ request: HTTPRequest) -> HTTPResponse? {
        guard request.method == "GET" || request.method == "HEAD", let files,
              let (body, type) = files.file(for: request.path) else { return nil }
        var response = HTTPResponse(status: 200, body: body)
        response.headers.add(name: "Content-Type", value: type)
        response.headers.add(name: "Cache-Control", value: "no-cache")
        return response
    }

    // MARK: - Helpers

    /// PATCH and DELETE: the stream's current token, or the token the session was created with (a rotated token
    /// must not strand the sessions it let in).
    private func authorizeSession(_ request: HTTPRequest, id: String, stream: String, publishing: Bool) async -> HTTPResponse? {
        if let token = request.bearerToken, creators.created(session: id, with: token) { return nil }
        return await authorize(request, stream: stream, publishing: publishing)
    }

    private func authorize(_ request: HTTPRequest, stream: String, publishing: Bool) async -> HTTPResponse? {
        let token = request.bearerToken
        let decision = publishing ? await access.mayPublish(stream: stream, token: token)
                                  : await access.mayView(stream: stream, token: token)
        switch decision {
        case .allowed:
            return nil
        case let .unauthorized(reason):
            var response = HTTPResponse.problem(status: 401, title: "Unauthorized", detail: reason)
            response.headers.add(name: "WWW-Authenticate", value: "Bearer realm=\"skylark\"")
            return response
        case .unknownStream:
            return .problem(status: 404, title: "Unknown stream", detail: "there is no stream named \"\(stream)\"")
        }
    }

    private func problem(_ error: SFUError, stream: String) -> HTTPResponse {
        var response = HTTPResponse.problem(status: error.status, detail: error.description)
        switch error {
        case .streamBusy:
            response = .problem(status: 409, title: "Stream busy",
                                detail: "stream \"\(stream)\" already has a publisher; DELETE its session first, or POST with ?replace=1 to take over")
        case .full:
            response.headers.add(name: "Retry-After", value: "5")
        default:
            break
        }
        return response
    }

    private func preflight(allow: String) -> HTTPResponse {
        var response = HTTPResponse(status: 204)
        response.headers.add(name: "Allow", value: allow)
        response.headers.add(name: "Accept-Post", value: "application/sdp")
        response.headers.add(name: "Accept-Patch", value: "application/trickle-ice-sdpfrag")
        response.headers.add(name: "Access-Control-Allow-Methods", value: allow)
        response.headers.add(name: "Access-Control-Allow-Headers", value: "Authorization, Content-Type, If-Match")
        response.headers.add(name: "Access-Control-Max-Age", value: "86400")
        return response
    }

    private func cors(_ response: HTTPResponse) -> HTTPResponse {
        var response = response
        response.headers.replaceOrAdd(name: "Access-Control-Allow-Origin", value: configuration.allowedOrigin)
        response.headers.replaceOrAdd(name: "Access-Control-Expose-Headers", value: "Location, ETag, Link, Accept-Post, Accept-Patch")
        return response
    }

    private func addICEServerLinks(_ response: inout HTTPResponse, stream: String, withCredentials: Bool = true) {
        for value in configuration.iceServers.values(stream: stream, withCredentials: withCredentials) {
            response.headers.add(name: "Link", value: value)
        }
    }

    static func mediaType(_ request: HTTPRequest) -> String? {
        request.headers["Content-Type"].map {
            String($0.split(separator: ";", maxSplits: 1).first ?? "").trimmingSpaces.lowercased()
        }
    }

    /// What `isValidStreamName` accepts, for error messages.
    public static let streamNameRule = "stream names are 1 to 64 letters, digits, '.', '_' or '-'"

    /// Stream names: 1 to 64 of `A-Z a-z 0-9 . _ -`, so they are safe in paths, SDP and logs.
    public static func isValidStreamName(_ name: String) -> Bool {
        guard (1...64).contains(name.utf8.count) else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        } && name != "." && name != ".."
    }
}

extension String {
    var trimmingSpaces: String {
        var view = Substring(self)
        while view.first == " " || view.first == "\t" { view = view.dropFirst() }
        while view.last == " " || view.last == "\t" { view = view.dropLast() }
        return String(view)
    }
}

/// The Bearer token each live session was created with.
final class SessionCreators: Sendable {
    private let tokens = Mutex<[String: String]>([:])

    func remember(session: String, token: String) {
        tokens.withLock { table in
            // Sessions that end without DELETE (consent expiry, kicks) leave entries; keep the table bounded.
            if table.count >= 100_000 { table.removeAll() }
            table[session] = token
        }
    }

    func created(session: String, with token: String) -> Bool {
        guard let original = tokens.withLock({ $0[session] }) else { return false }
        return constantTimeEqual(original, token)
    }

    func forget(session: String) {
        _ = tokens.withLock { $0.removeValue(forKey: session) }
    }
}
