/// Why an RTP packet could not be parsed (RFC 3550 §5.1, RFC 8285).
public enum RTPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Fewer bytes than the fixed 12-byte header.
    case tooShort(length: Int)
    /// The version field is not 2.
    case badVersion(UInt8)
    /// The CSRC list (4 bytes per CSRC count) runs past the end of the packet.
    case csrcOverrun(csrcCount: Int, length: Int)
    /// The header extension (its 4-byte header or its declared length) runs past the end of the packet.
    case extensionOverrun
    /// The padding bit is set but the padding count is zero or larger than the payload.
    case badPadding(count: Int)

    public var description: String {
        switch self {
        case let .tooShort(length): return "RTP packet too short: \(length) bytes, the fixed header needs 12"
        case let .badVersion(version): return "RTP version \(version), expected 2"
        case let .csrcOverrun(count, length): return "RTP CSRC list of \(count) overruns a \(length)-byte packet"
        case .extensionOverrun: return "RTP header extension overruns the packet"
        case let .badPadding(count): return "RTP padding count \(count) is zero or larger than the payload"
        }
    }
}

/// Why an RTCP compound packet could not be parsed (RFC 3550 §6, RFC 4585 §6, RFC 5104 §4.3).
public enum RTCPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Fewer than 4 bytes left for a common header, or the length field points past the end of the buffer.
    case truncated(offset: Int)
    /// The version field is not 2.
    case badVersion(UInt8, offset: Int)
    /// The padding bit is set but the padding count is zero or larger than the packet body.
    case badPadding(offset: Int)
    /// The body of a known packet type is inconsistent with its count or its own length fields.
    case malformed(packetType: UInt8, reason: String)

    public var description: String {
        switch self {
        case let .truncated(offset): return "RTCP packet at offset \(offset) is truncated"
        case let .badVersion(version, offset): return "RTCP version \(version) at offset \(offset), expected 2"
        case let .badPadding(offset): return "RTCP padding of the packet at offset \(offset) is invalid"
        case let .malformed(type, reason): return "RTCP packet type \(type) is malformed: \(reason)"
        }
    }
}
