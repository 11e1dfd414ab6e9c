/// Why the SFU refused a request; the HTTP layer turns each case into a status code and a problem report.
public enum SFUError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The offer cannot be used (unreadable SDP, missing ICE credentials or fingerprint, wrong direction).
    case badOffer(String)
    /// The offer is readable but offers nothing the server can take (no Opus, no H.264/VP8).
    case unsupportedMedia(String)
    /// No session with that id.
    case unknownSession
    /// The stream already has a publisher.
    case streamBusy(String)
    /// The server has as many sessions as it is configured for.
    case full
    /// A PATCH body that is not a usable SDP fragment.
    case badFragment(String)
    /// A PATCH body larger than `SDPFragment.maximumBytes` (its size in bytes).
    case fragmentTooLarge(Int)
    /// PATCH with an If-Match that is not the session's current ETag (RFC 9725 §4.3.1).
    case preconditionFailed
    /// PATCH without If-Match (RFC 9725 §4.3).
    case preconditionRequired

    public var description: String {
        switch self {
        case let .badOffer(reason): return "unusable offer: \(reason)"
        case let .unsupportedMedia(reason): return "unsupported media: \(reason)"
        case .unknownSession: return "no such session"
        case let .streamBusy(stream): return "stream \"\(stream)\" already has a publisher"
        case .full: return "the server is at its session limit"
        case let .badFragment(reason): return "unusable SDP fragment: \(reason)"
        case let .fragmentTooLarge(size):
            return "the SDP fragment is \(size) bytes; at most \(SDPFragment.maximumBytes) are accepted"
        case .preconditionFailed: return "If-Match does not match the session's current ETag"
        case .preconditionRequired: return "PATCH needs an If-Match header (the ETag, or \"*\" for an ICE restart)"
        }
    }
}

extension SFUError {
    /// HTTP status for the error (RFC 9725 §4).
    public var status: Int {
        switch self {
        case .badOffer, .badFragment: return 400
        case .unsupportedMedia: return 406
        case .unknownSession: return 404
        case .streamBusy: return 409
        case .full: return 503
        case .fragmentTooLarge: return 413
        case .preconditionFailed: return 412
        case .preconditionRequired: return 428
        }
    }
}
