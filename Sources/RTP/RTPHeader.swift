/// A parsed view of an RTP packet's header (RFC 3550 §5.1) with its RFC 8285 header extension located.
///
/// Parsing copies a few fields and records offsets; it never allocates. Variable-length parts (CSRCs, extension
/// elements, payload) are read back from the same packet bytes through the accessors that take `in packet:`.
public struct RTPHeader: Sendable, Hashable {
    /// The RFC 8285 §4.2 profile of the one-byte extension form.
    public static let oneByteExtensionProfile: UInt16 = 0xBEDE
    /// The RFC 8285 §4.3 two-byte form: `0x100` followed by 4 application bits.
    public static let twoByteExtensionProfile: UInt16 = 0x1000

    /// The M bit.
    public var marker: Bool
    /// The 7-bit payload type.
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    /// How many CSRCs follow the fixed header (0...15).
    public var csrcCount: Int
    /// The number of padding bytes at the end of the packet, including the count byte; 0 when the P bit is clear.
    public var paddingLength: Int
    /// The header extension's 16-bit profile ("defined by profile"), or nil when the X bit is clear.
    public var extensionProfile: UInt16?
    /// Where the header extension's data (after its 4-byte header) lies in the packet; empty without extension.
    public var extensionRange: Range<Int>
    /// Offset of the first payload byte: the full header length.
    public var payloadOffset: Int
    /// Payload length in bytes, excluding padding.
    public var payloadLength: Int

    /// True when the P bit was set.
    public var hasPadding: Bool { paddingLength > 0 }

    /// The header length in bytes (fixed header, CSRCs and extension).
    public var headerLength: Int { payloadOffset }

    /// Parses the header of `packet`, checking version 2, that the CSRC list and header extension fit, and that the
    /// padding count lies within the payload.
    public init(parsing packet: UnsafeRawBufferPointer) throws(RTPError) {
        let length = packet.count
        guard length >= 12 else { throw .tooShort(length: length) }
        let b0 = packet[0]
        guard b0 >> 6 == 2 else { throw .badVersion(b0 >> 6) }
        let b1 = packet[1]
        marker = b1 & 0x80 != 0
        payloadType = b1 & 0x7F
        sequenceNumber = packet.be16(2)
        timestamp = packet.be32(4)
        ssrc = packet.be32(8)
        csrcCount = Int(b0 & 0x0F)

        var offset = 12 + 4 * csrcCount
        guard offset <= length else { throw .csrcOverrun(csrcCount: csrcCount, length: length) }

        if b0 & 0x10 != 0 {
            // RFC 3550 §5.3.1: 16-bit profile, 16-bit length in 32-bit words excluding this 4-byte header.
            guard offset + 4 <= length else { throw .extensionOverrun }
            extensionProfile = packet.be16(offset)
            let dataLength = Int(packet.be16(offset + 2)) * 4
            let start = offset + 4
            guard start + dataLength <= length else { throw .extensionOverrun }
            extensionRange = start..<start + dataLength
            offset = start + dataLength
        } else {
            extensionProfile = nil
            extensionRange = offset..<offset
        }

        if b0 & 0x20 != 0 {
            // RFC 3550 §5.1: the last octet counts the padding octets, itself included.
            let count = length > offset ? Int(packet[length - 1]) : 0
            guard count >= 1, count <= length - offset else { throw .badPadding(count: count) }
            paddingLength = count
        } else {
            paddingLength = 0
        }
        payloadOffset = offset
        payloadLength = length - offset - paddingLength
    }

    /// Parses the header of a packet held in an array (see `init(parsing:)` for the checks).
    public init(parsing packet: [UInt8]) throws(RTPError) {
        let result = packet.withUnsafeBytes { raw in
            Result { () throws(RTPError) in try RTPHeader(parsing: raw) }
        }
        self = try result.get()
    }

    /// The CSRC at `index`, or nil when out of range (or `packet` is shorter than the one parsed).
    public func csrc(at index: Int, in packet: UnsafeRawBufferPointer) -> UInt32? {
        guard index >= 0, index < csrcCount, 12 + 4 * index + 4 <= packet.count else { return nil }
        return packet.be32(12 + 4 * index)
    }

    /// The payload bytes (padding excluded).
    public func payload(in packet: UnsafeRawBufferPointer) -> Slice<UnsafeRawBufferPointer> {
        let end = min(payloadOffset + payloadLength, packet.count)
        return packet[min(payloadOffset, end)..<end]
    }

    /// The data bytes of the RFC 8285 extension element with local identifier `id`, or nil when absent (or the
    /// extension uses neither the one-byte nor the two-byte form).
    public func extensionElement(id: UInt8, in packet: UnsafeRawBufferPointer) -> Slice<UnsafeRawBufferPointer>? {
        var found: Range<Int>?
        forEachExtensionElement(in: packet) { elementID, range in
            if elementID == id { found = range; return false }
            return true
        }
        guard let found else { return nil }
        return packet[found]
    }

    /// Calls `body` with each extension element's identifier and the range of its data in `packet`, in order, until
    /// `body` returns false. Padding is skipped; a malformed element ends the walk (RFC 8285 §4.2: on the
    /// one-byte form's reserved id 15 processing stops).
    public func forEachExtensionElement(
        in packet: UnsafeRawBufferPointer, _ body: (UInt8, Range<Int>) -> Bool
    ) {
        guard let profile = extensionProfile, extensionRange.upperBound <= packet.count else { return }
        var i = extensionRange.lowerBound
        let end = extensionRange.upperBound
        if profile == RTPHeader.oneByteExtensionProfile {
            // RFC 8285 §4.2: 4-bit ID, 4-bit length minus one, then the data.
            while i < end {
                let b = packet[i]
                if b == 0 { i += 1; continue }
                let id = b >> 4
                if id == 15 { return }
                let start = i + 1
                let stop = start + Int(b & 0x0F) + 1
                guard stop <= end else { return }
                if !body(id, start..<stop) { return }
                i = stop
            }
        } else if profile & 0xFFF0 == RTPHeader.twoByteExtensionProfile {
            // RFC 8285 §4.3: 8-bit ID, 8-bit length (data may be empty), then the data.
            while i < end {
                let id = packet[i]
                if id == 0 { i += 1; continue }
                guard i + 2 <= end else { return }
                let start = i + 2
                let stop = start + Int(packet[i + 1])
                guard stop <= end else { return }
                if !body(id, start..<stop) { return }
                i = stop
            }
        }
    }
}
