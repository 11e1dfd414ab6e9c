import FoundationEssentials
import HTTP
import SFU
import SkylarkBase
import Store
import WHIP

/// The management API under `/api/` (JSON, for curl and the dashboard), protected by an admin token: streams and
/// their tokens, API tokens, live sessions (with a kick), and the session history. Errors are
/// `application/problem+json` (RFC 9457).
public struct AdminAPI: Sendable {
    public let store: Store
    public let sfu: SFU
    /// A token given on the command line; API tokens in the database work as well.
    public let adminToken: String?

    public init(store: Store, sfu: SFU, adminToken: String?) {
        self.store = store
        self.sfu = sfu
        self.adminToken = adminToken
    }

    /// Answers requests under `/api/`; nil for other paths.
    public func handle(_ request: HTTPRequest) async -> HTTPResponse? {
        guard request.path == "/api" || request.path.hasPrefix("/api/") else { return nil }
        if request.method == "OPTIONS" {
            var response = HTTPResponse(status: 204)
            response.headers.add(name: "Access-Control-Allow-Origin", value: "*")
            response.headers.add(name: "Access-Control-Allow-Methods", value: "GET, POST, DELETE, OPTIONS")
            response.headers.add(name: "Access-Control-Allow-Headers", value: "Authorization, Content-Type")
            return response
        }
        guard authorized(request) else {
            var response = HTTPResponse.problem(status: 401, title: "Unauthorized",
                                                detail: "the management API needs an admin token: Authorization: Bearer <token>")
            response.headers.add(name: "WWW-Authenticate", value: "Bearer realm=\"skylark-admin\"")
            return response
        }
        let parts = request.path.split(separator: "/").dropFirst().map(String.init)
        do {
            return try await route(request, parts)
        } catch let error as StoreError {
            return .problem(status: 500, title: "Database error", detail: error.description)
        } catch let error as APIError {
            return error.response
        } catch {
            return .problem(status: 400, detail: "\(error)")
        }
    }

    // MARK: - Routing

    private func route(_ request: HTTPRequest, _ parts: [String]) async throws -> HTTPResponse {
        guard parts.count <= 3 else { throw APIError(404, "unknown endpoint \(request.path); see the README for the API") }
        let part = { (index: Int) -> String? in index < parts.count ? parts[index] : nil }
        switch (request.method, part(0) ?? "", part(1), part(2)) {
        case ("GET", "streams", nil, nil):
            return try await json(streamList())
        case ("POST", "streams", nil, nil):
            let body: CreateStream = try decode(request)
            guard WHIPServer.isValidStreamName(body.name) else {
                throw APIError(400, WHIPServer.streamNameRule)
            }
            do {
                let (record, publishToken, viewToken) = try store.createStream(name: body.name,
                                                                                viewRequiresToken: body.viewRequiresToken ?? false)
                return try json(CreatedStream(name: record.name, viewRequiresToken: record.viewRequiresToken,
                                              publishToken: publishToken, viewToken: viewToken), status: 201)
            } catch let error as StoreError {
                if case .conflict = error { throw APIError(409, "stream \"\(body.name)\" exists already") }
                throw error
            }
        case let ("GET", "streams", name?, nil):
            guard let stream = try await streamList().first(where: { $0.name == name }) else {
                throw APIError(404, "there is no stream named \"\(name)\"")
            }
            return try json(stream)
        case let ("DELETE", "streams", name?, nil):
            guard try store.deleteStream(named: name) else { throw APIError(404, "there is no stream named \"\(name)\"") }
            for session in await sfu.sessionList() where session.stream == name {
                await sfu.end(sessionID: session.id, reason: "the stream was deleted")
            }
            return HTTPResponse(status: 204)
        case let ("POST", "streams", name?, "tokens"?):
            let body: RotateToken = try decode(request)
            let kind: TokenKind
            switch body.kind {
            case "publish": kind = .publish
            case "view": kind = .view
            default: throw APIError(400, "kind is \"publish\" or \"view\"")
            }
            guard let token = try store.rotateToken(stream: name, kind: kind) else {
                throw APIError(404, "there is no stream named \"\(name)\"")
            }
            return try json(["stream": name, "kind": body.kind, "token": token], status: 201)
        case ("GET", "sessions", nil, nil):
            return try json(await sfu.sessionList().map(LiveSession.init))
        case let ("GET", "sessions", id?, nil):
            guard let session = await sfu.session(id: id) else { throw APIError(404, "no live session \"\(id)\"") }
            return try json(LiveSession(session))
        case let ("DELETE", "sessions", id?, nil):
            guard await sfu.end(sessionID: id, reason: "kicked by an operator") else {
                throw APIError(404, "no live session \"\(id)\"")
            }
            return HTTPResponse(status: 204)
        case ("GET", "history", nil, nil):
            let limit = min(max(Int(request.query["limit"] ?? "") ?? 50, 1), 500)
            let page = try store.history(limit: limit, before: request.query["cursor"])
            return try json(HistoryPage(items: page.items.map(HistoryItem.init), next: page.next))
        case ("GET", "tokens", nil, nil):
            return try json(store.apiTokens().map(TokenInfo.init))
        case ("POST", "tokens", nil, nil):
            let body: CreateToken = try decode(request)
            guard !body.name.isEmpty, body.name.count <= 100 else { throw APIError(400, "name must be 1 to 100 characters") }
            let (record, token) = try store.createAPIToken(name: body.name)
            return try json(CreatedToken(id: record.id, name: record.name, token: token), status: 201)
        case let ("DELETE", "tokens", id?, nil):
            guard let number = Int64(id), try store.deleteAPIToken(id: number) else {
                throw APIError(404, "no API token with id \(id)")
            }
            return HTTPResponse(status: 204)
        default:
            let known = ["streams", "sessions", "history", "tokens"]
            if let first = parts.first, known.contains(first) {
                throw APIError(405, "\(request.method) is not supported on \(request.path)")
            }
            throw APIError(404, "unknown endpoint \(request.path); see the README for the API")
        }
    }

    private func authorized(_ request: HTTPRequest) -> Bool {
        guard let token = request.bearerToken else { return false }
        if let adminToken, constantTimeEqual(adminToken, token) { return true }
        return ((try? store.verifyAPIToken(token)) ?? nil) != nil
    }

    private func streamList() async throws -> [StreamView] {
        let live = await sfu.streamList()
        var views = try store.streams().map { record in
            let state = live.first { $0.name == record.name }
            return StreamView(name: record.name, viewRequiresToken: record.viewRequiresToken, registered: true,
                              live: state?.publishing ?? false, viewers: state?.viewers ?? 0, createdAt: record.createdAt)
        }
        // Streams in use that are not registered (open publishing).
        for state in live where !views.contains(where: { $0.name == state.name }) {
            views.append(StreamView(name: state.name, viewRequiresToken: false, registered: false,
                                    live: state.publishing, viewers: state.viewers, createdAt: nil))
        }
        return views
    }

    // MARK: - JSON

    private func decode<T: Decodable>(_ request: HTTPRequest) throws -> T {
        let type = request.headers["Content-Type"]?.split(separator: ";").first.map { String($0.filter { $0 != " " && $0 != "\t" }).lowercased() }
        guard type == "application/json" else { throw APIError(415, "send the body as Content-Type: application/json") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(request.body))
        } catch {
            throw APIError(400, "the JSON body does not fit: \(Self.describe(error))")
        }
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(key, _): return "\"\(key.stringValue)\" is missing"
        case let DecodingError.typeMismatch(_, context): return "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted: return "it is not valid JSON"
        default: return "\(error)"
        }
    }

    private func json<T: Encodable>(_ value: T, status: Int = 200) throws -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var response = HTTPResponse.json(bytes: Array(try encoder.encode(value)), status: status)
        response.headers.add(name: "Cache-Control", value: "no-store")
        return response
    }
}

/// An error answered as problem+json.
struct APIError: Error {
    var status: Int
    var detail: String
    init(_ status: Int, _ detail: String) {
        self.status = status
        self.detail = detail
    }
    var response: HTTPResponse { .problem(status: status, detail: detail) }
}

// MARK: - Bodies

struct CreateStream: Decodable { var name: String; var viewRequiresToken: Bool? }
struct RotateToken: Decodable { var kind: String }
struct CreateToken: Decodable { var name: String }

struct CreatedStream: Encodable {
    var name: String
    var viewRequiresToken: Bool
    var publishToken: String
    var viewToken: String?
}

struct StreamView: Encodable {
    var name: String
    var viewRequiresToken: Bool
    /// Whether the stream is in the database (false: used under open publishing).
    var registered: Bool
    var live: Bool
    var viewers: Int
    var createdAt: Double?
}

struct LiveSession: Encodable {
    var id: String
    var stream: String
    var role: String
    var iceState: String
    var connected: Bool
    var localAddress: String?
    var remoteAddress: String?
    var createdAt: Double
    var seconds: Double
    var bitrateIn: Double
    var bitrateOut: Double
    var packetsIn: UInt64
    var bytesIn: UInt64
    var packetsOut: UInt64
    var bytesOut: UInt64
    var packetsLost: Int64
    var jitter: Double
    var roundTripTime: Double?
    var rejected: UInt64
    var video: Bool

    enum CodingKeys: String, CodingKey {
        case id, stream, role, iceState, connected, localAddress, remoteAddress, createdAt, seconds, bitrateIn, bitrateOut
        case packetsIn, bytesIn, packetsOut, bytesOut, packetsLost, jitter, roundTripTime, rejected, video
    }

    /// Every key is written, with null for what is unknown, so clients see a stable shape.
    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(stream, forKey: .stream)
        try container.encode(role, forKey: .role)
        try container.encode(iceState, forKey: .iceState)
        try container.encode(connected, forKey: .connected)
        try container.encode(localAddress, forKey: .localAddress)
        try container.encode(remoteAddress, forKey: .remoteAddress)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(seconds, forKey: .seconds)
        try container.encode(bitrateIn, forKey: .bitrateIn)
        try container.encode(bitrateOut, forKey: .bitrateOut)
        try container.encode(packetsIn, forKey: .packetsIn)
        try container.encode(bytesIn, forKey: .bytesIn)
        try container.encode(packetsOut, forKey: .packetsOut)
        try container.encode(bytesOut, forKey: .bytesOut)
        try container.encode(packetsLost, forKey: .packetsLost)
        try container.encode(jitter, forKey: .jitter)
        try container.encode(roundTripTime, forKey: .roundTripTime)
        try container.encode(rejected, forKey: .rejected)
        try container.encode(video, forKey: .video)
    }

    init(_ info: SessionInfo) {
        id = info.id
        stream = info.stream
        role = info.role
        iceState = info.iceState
        connected = info.connected
        localAddress = info.localAddress
        remoteAddress = info.remoteAddress
        createdAt = info.createdAt
        seconds = info.seconds
        bitrateIn = info.bitrateIn
        bitrateOut = info.bitrateOut
        packetsIn = info.counters.packetsIn
        bytesIn = info.counters.bytesIn
        packetsOut = info.counters.packetsOut
        bytesOut = info.counters.bytesOut
        packetsLost = info.counters.packetsLost
        jitter = info.counters.jitter
        roundTripTime = info.counters.roundTripTime
        rejected = info.counters.rejected
        video = info.hasVideo
    }
}

struct HistoryItem: Encodable {
    var id: String
    var stream: String
    var role: String
    var remoteAddress: String?
    var startedAt: Double
    var endedAt: Double?
    var seconds: Double?
    var endReason: String?
    var packetsIn: Int64
    var bytesIn: Int64
    var packetsOut: Int64
    var bytesOut: Int64
    var packetsLost: Int64

    enum CodingKeys: String, CodingKey {
        case id, stream, role, remoteAddress, startedAt, endedAt, seconds, endReason
        case packetsIn, bytesIn, packetsOut, bytesOut, packetsLost
    }

    /// Every key is written, with null for what is unknown.
    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(stream, forKey: .stream)
        try container.encode(role, forKey: .role)
        try container.encode(remoteAddress, forKey: .remoteAddress)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(endedAt, forKey: .endedAt)
        try container.encode(seconds, forKey: .seconds)
        try container.encode(endReason, forKey: .endReason)
        try container.encode(packetsIn, forKey: .packetsIn)
        try container.encode(bytesIn, forKey: .bytesIn)
        try container.encode(packetsOut, forKey: .packetsOut)
        try container.encode(bytesOut, forKey: .bytesOut)
        try container.encode(packetsLost, forKey: .packetsLost)
    }

    init(_ record: SessionRecord) {
        id = record.id
        stream = record.stream
        role = record.role
        remoteAddress = record.remoteAddress
        startedAt = record.startedAt
        endedAt = record.endedAt
        seconds = record.duration
        endReason = record.endReason
        packetsIn = record.packetsIn
        bytesIn = record.bytesIn
        packetsOut = record.packetsOut
        bytesOut = record.bytesOut
        packetsLost = record.packetsLost
    }
}

struct HistoryPage: Encodable {
    var items: [HistoryItem]
    /// Pass as `?cursor=` for the next (older) page; null on the last page.
    var next: String?

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(next, forKey: .next)
    }

    enum CodingKeys: String, CodingKey { case items, next }
}

struct TokenInfo: Encodable {
    var id: Int64
    var name: String
    var createdAt: Double
    var lastUsedAt: Double?

    init(_ record: APITokenRecord) {
        id = record.id
        name = record.name
        createdAt = record.createdAt
        lastUsedAt = record.lastUsedAt
    }
}

struct CreatedToken: Encodable {
    var id: Int64
    var name: String
    var token: String
}
