/// Why bytes could not be parsed as a STUN message.
public enum STUNError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer than the 20 bytes of a STUN header.
    case tooShort
    /// The two most significant bits of the first byte are not zero (RFC 8489 §5).
    case notSTUN
    /// The magic cookie is not 0x2112A442 (RFC 8489 §5).
    case badMagicCookie
    /// The header's length field is not a multiple of 4 or does not match the datagram.
    case badLength
    /// An attribute runs past the end of the message.
    case truncatedAttribute(type: UInt16)

    public var description: String {
        switch self {
        case .tooShort: return "STUN message shorter than its 20-byte header"
        case .notSTUN: return "not a STUN message (leading bits set)"
        case .badMagicCookie: return "STUN magic cookie missing"
        case .badLength: return "STUN length field does not match the message"
        case let .truncatedAttribute(type): return "STUN attribute 0x\(String(type, radix: 16)) is truncated"
        }
    }
}
