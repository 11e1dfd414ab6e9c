/// Walks the packets of an RTCP compound (RFC 3550 §6.1) without allocating: each step yields the packet type,
/// the 5-bit count/FMT field and where the packet and its body lie. An SFU uses this to pick out PLI, FIR and NACK
/// without parsing everything.
public enum RTCPScanner {
    /// One packet of a compound.
    public struct Item: Sendable, Hashable {
        /// The packet type (200 SR, 201 RR, 202 SDES, 203 BYE, 205 RTPFB, 206 PSFB, ...).
        public var packetType: UInt8
        /// The 5-bit count field (report count, source count, or feedback message type).
        public var count: UInt8
        /// The whole packet, common header and padding included.
        public var range: Range<Int>
        /// The body after the 4-byte common header, padding excluded.
        public var bodyRange: Range<Int>

        /// For feedback packets (RTPFB/PSFB, RFC 4585 §6.1): the sender and media SSRCs at the start of the body.
        public func feedbackSSRCs(in bytes: UnsafeRawBufferPointer) -> (sender: UInt32, media: UInt32)? {
            guard bodyRange.count >= 8, bodyRange.upperBound <= bytes.count else { return nil }
            return (bytes.be32(bodyRange.lowerBound), bytes.be32(bodyRange.lowerBound + 4))
        }
    }

    /// Iterates the packets of one compound. After `next()` returns nil, `error` tells whether the walk stopped on
    /// malformed framing (a length past the end, a bad version or padding) rather than at the end.
    public struct Iterator: IteratorProtocol {
        public let bytes: UnsafeRawBufferPointer
        public private(set) var offset = 0
        public private(set) var error: RTCPError?

        public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        public mutating func next() -> Item? {
            guard error == nil, offset < bytes.count else { return nil }
            switch RTCPScanner.item(in: bytes, at: offset) {
            case let .success(item):
                offset = item.range.upperBound
                return item
            case let .failure(failure):
                error = failure
                return nil
            }
        }
    }

    /// An iterator over the packets in `bytes`.
    public static func packets(in bytes: UnsafeRawBufferPointer) -> Iterator { Iterator(bytes) }

    /// True when `bytes` looks like RTCP rather than RTP on a multiplexed port (RFC 5761 §4: the second byte is an
    /// RTCP packet type in 192...223, which RTP payload types 64...95 with the marker bit would collide with).
    public static func isRTCP(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && bytes[0] >> 6 == 2 && (192...223).contains(bytes[1])
    }

    /// Frames the packet starting at `offset`.
    static func item(in bytes: UnsafeRawBufferPointer, at offset: Int) -> Result<Item, RTCPError> {
        guard offset >= 0, offset + 4 <= bytes.count else { return .failure(.truncated(offset: offset)) }
        let b0 = bytes[offset]
        guard b0 >> 6 == 2 else { return .failure(.badVersion(b0 >> 6, offset: offset)) }
        // RFC 3550 §6.4.1: length in 32-bit words minus one, common header included.
        let length = (Int(bytes.be16(offset + 2)) + 1) * 4
        guard offset + length <= bytes.count else { return .failure(.truncated(offset: offset)) }
        let end = offset + length
        var bodyEnd = end
        if b0 & 0x20 != 0 {
            let padding = Int(bytes[end - 1])
            guard padding >= 1, padding <= length - 4 else { return .failure(.badPadding(offset: offset)) }
            bodyEnd -= padding
        }
        return .success(Item(
            packetType: bytes[offset + 1], count: b0 & 0x1F, range: offset..<end, bodyRange: offset + 4..<bodyEnd))
    }
}
