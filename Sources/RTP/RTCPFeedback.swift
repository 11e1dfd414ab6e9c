/// A generic NACK (RFC 4585 §6.2.1): transport-layer feedback (PT 205, FMT 1) listing lost packets.
public struct GenericNACK: Sendable, Hashable {
    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    /// The lost sequence numbers. Serializing packs them into PID+BLP pairs, each pair covering a PID and the 16
    /// numbers after it; give them in ascending (wrapping) order to get the fewest pairs and an exact round trip.
    public var lostSequenceNumbers: [UInt16]

    public init(senderSSRC: UInt32, mediaSSRC: UInt32, lostSequenceNumbers: [UInt16]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.lostSequenceNumbers = lostSequenceNumbers
    }

    /// The (PID, BLP) pairs of the FCI.
    public var pairs: [(pid: UInt16, blp: UInt16)] {
        var out: [(pid: UInt16, blp: UInt16)] = []
        for seq in lostSequenceNumbers {
            if let last = out.last {
                let distance = seq &- last.pid
                if distance == 0 { continue }
                if distance <= 16 {
                    out[out.count - 1].blp |= 1 << (distance - 1)
                    continue
                }
            }
            out.append((seq, 0))
        }
        return out
    }
}

/// A Picture Loss Indication (RFC 4585 §6.3.1): payload-specific feedback (PT 206, FMT 1) with no FCI.
public struct PictureLossIndication: Sendable, Hashable {
    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32

    public init(senderSSRC: UInt32, mediaSSRC: UInt32) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
    }
}

/// A Full Intra Request (RFC 5104 §4.3.1): payload-specific feedback (PT 206, FMT 4).
public struct FullIntraRequest: Sendable, Hashable {
    /// One FCI entry: the media sender asked for a key frame and the request's command sequence number.
    public struct Entry: Sendable, Hashable {
        public var ssrc: UInt32
        public var sequenceNumber: UInt8

        public init(ssrc: UInt32, sequenceNumber: UInt8) {
            self.ssrc = ssrc
            self.sequenceNumber = sequenceNumber
        }
    }

    public var senderSSRC: UInt32
    public var entries: [Entry]

    public init(senderSSRC: UInt32, entries: [Entry]) {
        self.senderSSRC = senderSSRC
        self.entries = entries
    }
}

/// Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb §2.2): application-layer feedback
/// (PT 206, FMT 15) with the "REMB" identifier.
public struct REMB: Sendable, Hashable {
    public var senderSSRC: UInt32
    /// Bits per second. The wire form is an 18-bit mantissa and 6-bit exponent, so large values lose low bits.
    public var bitrate: UInt64
    /// The media sources the estimate applies to; at most 255 are serialized.
    public var ssrcs: [UInt32]

    public init(senderSSRC: UInt32, bitrate: UInt64, ssrcs: [UInt32]) {
        self.senderSSRC = senderSSRC
        self.bitrate = bitrate
        self.ssrcs = ssrcs
    }

    /// The unique identifier "REMB".
    static let identifier: UInt32 = 0x5245_4D42
}
