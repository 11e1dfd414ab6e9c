import Store
import WHIP

/// Who may publish and watch, from the database: a stream that exists needs its publish token (and its view
/// token when it has one); a stream that does not exist may be used freely only when `openStreams` is set.
public struct StoreAccessPolicy: AccessPolicy {
    public let store: Store
    /// Whether names that are not in the database may be published and watched without a token.
    public let openStreams: Bool

    public init(store: Store, openStreams: Bool) {
        self.store = store
        self.openStreams = openStreams
    }

    public func mayPublish(stream: String, token: String?) async -> AccessDecision {
        decide((try? store.checkPublishToken(stream: stream, token: token)) ?? .unknownStream, action: "publish to")
    }

    public func mayView(stream: String, token: String?) async -> AccessDecision {
        decide((try? store.checkViewToken(stream: stream, token: token)) ?? .unknownStream, action: "watch")
    }

    private func decide(_ check: TokenCheck, action: String) -> AccessDecision {
        switch check {
        case .allowed:
            return .allowed
        case .wrongToken:
            return .unauthorized("the Bearer token is missing or not valid to \(action) this stream")
        case .unknownStream:
            return openStreams ? .allowed : .unknownStream
        }
    }
}
