/// Why ICE input was rejected.
public enum ICEError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A candidate line could not be parsed (RFC 8839 §5.1); the associated text says which part.
    case invalidCandidate(String)

    public var description: String {
        switch self {
        case let .invalidCandidate(reason): return "invalid ICE candidate: \(reason)"
        }
    }
}
