import SkylarkBase

/// Decides who may publish to and watch a stream. The server asks before every POST, PATCH and DELETE.
public protocol AccessPolicy: Sendable {
    /// Whether `token` (the Bearer token, nil when absent) may publish to `stream`.
    func mayPublish(stream: String, token: String?) async -> AccessDecision
    /// Whether `token` may watch `stream`.
    func mayView(stream: String, token: String?) async -> AccessDecision
}

public enum AccessDecision: Sendable, Equatable {
    case allowed
    /// 401 with this reason.
    case unauthorized(String)
    /// 404: the server only serves streams it knows.
    case unknownStream
}

/// A fixed policy from the command line: one optional token for publishing, one for viewing, same for every
/// stream.
public struct StaticAccessPolicy: AccessPolicy {
    public var publishToken: String?
    public var viewToken: String?

    public init(publishToken: String? = nil, viewToken: String? = nil) {
        self.publishToken = publishToken
        self.viewToken = viewToken
    }

    public func mayPublish(stream: String, token: String?) async -> AccessDecision {
        Self.check(required: publishToken, given: token, action: "publish")
    }

    public func mayView(stream: String, token: String?) async -> AccessDecision {
        Self.check(required: viewToken, given: token, action: "view")
    }

    static func check(required: String?, given: String?, action: String) -> AccessDecision {
        guard let required else { return .allowed }
        guard let given else { return .unauthorized("this server needs a Bearer token to \(action)") }
        return constantTimeEqual(required, given) ? .allowed : .unauthorized("the token is not valid to \(action) this stream")
    }
}
