import RTP
import SkylarkBase

/// What a viewer sends for one kind of media: its own SSRC, and the mapping from the publisher's sequence
/// numbers and timestamps to its own, kept continuous when the publisher changes (RFC 3550 §5.1 / §8.2).
struct OutgoingStream {
    let ssrc: UInt32
    let payloadType: UInt8
    let clockRate: UInt32
    /// The publisher SSRC the offsets were computed for.
    var sourceSSRC: UInt32?
    var sequenceOffset: UInt16 = 0
    var timestampOffset: UInt32 = 0
    /// Where numbering starts: random (RFC 3550 §5.1), drawn by whoever creates the stream.
    var lastSequence: UInt16
    var lastTimestamp: UInt32
    var lastSendTime: Instant?
    var packetsSent: UInt32 = 0
    var octetsSent: UInt32 = 0
    /// The viewer sequence number the current source started at: older ones belong to another source.
    var sourceStartSequence: UInt16 = 0
    /// RTX (RFC 4588) for this stream, when the viewer negotiated it: its payload type, SSRC and sequence numbers.
    var retransmission: (payloadType: UInt8, ssrc: UInt32, nextSequence: UInt16)?

    init(ssrc: UInt32, payloadType: UInt8, clockRate: UInt32, initialSequence: UInt16, initialTimestamp: UInt32) {
        self.ssrc = ssrc
        self.payloadType = payloadType
        self.clockRate = clockRate
        lastSequence = initialSequence
        lastTimestamp = initialTimestamp
    }

    /// A stream numbered from random starting points.
    init(ssrc: UInt32, payloadType: UInt8, clockRate: UInt32, using random: inout some RandomNumberGenerator) {
        self.init(ssrc: ssrc, payloadType: payloadType, clockRate: clockRate,
                  initialSequence: .random(in: 0...UInt16.max, using: &random),
                  initialTimestamp: .random(in: 0...UInt32.max, using: &random))
    }

    /// The viewer's sequence number and timestamp for a publisher packet.
    mutating func map(sourceSSRC: UInt32, sequence: UInt16, timestamp: UInt32, now: Instant) -> (UInt16, UInt32) {
        if self.sourceSSRC != sourceSSRC {
            // A new source continues right after what the viewer last got, as if a packet was merely late.
            let elapsed = lastSendTime.map { now - $0 } ?? .milliseconds(20)
            let ticks = UInt32(clamping: Int64(Double(clockRate) * elapsed.seconds))
            sequenceOffset = lastSequence &+ 1 &- sequence
            timestampOffset = lastTimestamp &+ max(ticks, 1) &- timestamp
            self.sourceSSRC = sourceSSRC
            sourceStartSequence = lastSequence &+ 1
        }
        let outSequence = sequence &+ sequenceOffset
        let outTimestamp = timestamp &+ timestampOffset
        // Only move forward: a reordered packet keeps its place but does not rewind the state.
        if Int16(bitPattern: outSequence &- lastSequence) > 0 || packetsSent == 0 {
            lastSequence = outSequence
            lastTimestamp = outTimestamp
            lastSendTime = now
        }
        return (outSequence, outTimestamp)
    }

    /// Maps a publisher packet for this viewer and counts it for the sender reports.
    mutating func forward(_ header: RTPHeader, payloadBytes: Int, now: Instant) -> (sequence: UInt16, timestamp: UInt32) {
        let (sequence, timestamp) = map(sourceSSRC: header.ssrc, sequence: header.sequenceNumber,
                                        timestamp: header.timestamp, now: now)
        packetsSent &+= 1
        octetsSent &+= UInt32(truncatingIfNeeded: payloadBytes)
        return (sequence, timestamp)
    }

    /// The publisher's sequence number for one this viewer was sent, for answering NACKs; nil when it was sent
    /// from an earlier source or not sent yet.
    func sourceSequence(forViewerSequence sequence: UInt16) -> UInt16? {
        guard sourceSSRC != nil, Int16(bitPattern: sequence &- sourceStartSequence) >= 0,
              Int16(bitPattern: lastSequence &- sequence) >= 0 else { return nil }
        return sequence &- sequenceOffset
    }
}
