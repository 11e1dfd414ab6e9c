import SkylarkBase

/// One reception report block of an SR or RR (RFC 3550 §6.4.1): 24 bytes on the wire.
public struct RTCPReportBlock: Sendable, Hashable {
    /// The source this block reports on.
    public var ssrc: UInt32
    /// Fraction of packets lost since the previous report, in 1/256 units.
    public var fractionLost: UInt8
    /// Cumulative packets lost: a 24-bit signed value on the wire (clamped when serialized).
    public var cumulativeLost: Int32
    /// Extended highest sequence number received (cycles << 16 | sequence).
    public var highestSequence: UInt32
    /// Interarrival jitter in timestamp units.
    public var jitter: UInt32
    /// Middle 32 bits of the last SR's NTP timestamp (0 if none).
    public var lastSenderReport: UInt32
    /// Delay since that SR, in 1/65536 seconds.
    public var delaySinceLastSenderReport: UInt32

    public static let wireLength = 24

    public init(
        ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, highestSequence: UInt32, jitter: UInt32,
        lastSenderReport: UInt32, delaySinceLastSenderReport: UInt32
    ) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.highestSequence = highestSequence
        self.jitter = jitter
        self.lastSenderReport = lastSenderReport
        self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }

    /// Reads a block at `offset`; the caller has checked that 24 bytes are there.
    init(reading bytes: UnsafeRawBufferPointer, at offset: Int) {
        ssrc = bytes.be32(offset)
        let lostWord = bytes.be32(offset + 4)
        fractionLost = UInt8(lostWord >> 24)
        // Sign-extend the 24-bit field.
        cumulativeLost = Int32(bitPattern: lostWord << 8) >> 8
        highestSequence = bytes.be32(offset + 8)
        jitter = bytes.be32(offset + 12)
        lastSenderReport = bytes.be32(offset + 16)
        delaySinceLastSenderReport = bytes.be32(offset + 20)
    }

    func serialize(into out: inout [UInt8]) {
        out.appendUInt32(ssrc)
        let lost = min(max(cumulativeLost, -0x80_0000), 0x7F_FFFF)
        out.append(fractionLost)
        out.appendUInt24(UInt32(bitPattern: lost) & 0xFF_FFFF)
        out.appendUInt32(highestSequence)
        out.appendUInt32(jitter)
        out.appendUInt32(lastSenderReport)
        out.appendUInt32(delaySinceLastSenderReport)
    }
}
