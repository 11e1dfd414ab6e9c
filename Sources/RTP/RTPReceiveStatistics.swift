import SkylarkBase

/// Per-source receive statistics for RTCP reception reports: loss (RFC 3550 §A.1, §A.3) and interarrival jitter
/// (RFC 3550 §6.4.1, §A.8).
public struct RTPReceiveStatistics: Sendable {
    /// RFC 3550 §A.1: jumps larger than these are treated as a source restart once confirmed by the next packet.
    public static let maxDropout: Int64 = 3000
    public static let maxMisorder: Int64 = 100

    /// The RTP clock rate of the stream, in Hz.
    public let clockRate: UInt32
    /// Packets counted, duplicates included (RFC 3550 §A.3 counts them too).
    public private(set) var packetsReceived: UInt64 = 0
    /// The highest extended sequence number seen (0 before the first packet).
    public private(set) var highestSequence: Int64 = 0
    /// The first extended sequence number of the current run.
    public private(set) var baseSequence: Int64 = 0

    private var unwrapper = SequenceNumberUnwrapper()
    private var started = false
    private var badSequence: UInt16?
    private var expectedPrior: Int64 = 0
    private var receivedPrior: UInt64 = 0
    private var lastTransit: Int64?
    private var lastJitterTimestamp: UInt32?
    /// The jitter estimate in timestamp units, kept as a Double instead of §A.8's scaled integer.
    private var jitterEstimate: Double = 0

    public init(clockRate: UInt32) {
        self.clockRate = max(clockRate, 1)
    }

    /// Packets expected from the first to the highest sequence number.
    public var packetsExpected: Int64 { started ? highestSequence - baseSequence + 1 : 0 }

    /// Expected minus received (RFC 3550 §6.4.1); negative when duplicates outnumber losses.
    public var cumulativeLost: Int64 { packetsExpected - Int64(packetsReceived) }

    /// Interarrival jitter in RTP timestamp units.
    public var jitter: UInt32 { UInt32(min(jitterEstimate, Double(UInt32.max))) }

    /// Interarrival jitter in seconds.
    public var jitterSeconds: Double { jitterEstimate / Double(clockRate) }

    /// Counts one arrived packet.
    public mutating func record(sequenceNumber: UInt16, rtpTimestamp: UInt32, arrival: Instant) {
        guard started else {
            restart(at: sequenceNumber)
            updateJitter(rtpTimestamp: rtpTimestamp, arrival: arrival)
            return
        }
        let extended = unwrapper.peek(sequenceNumber)
        let ahead = extended - highestSequence
        if ahead > RTPReceiveStatistics.maxDropout || -ahead > RTPReceiveStatistics.maxMisorder {
            // RFC 3550 §A.1: a big jump is believed only when the next packet follows it in sequence.
            if badSequence == sequenceNumber {
                restart(at: sequenceNumber)
                lastTransit = nil
                lastJitterTimestamp = nil
                updateJitter(rtpTimestamp: rtpTimestamp, arrival: arrival)
            } else {
                badSequence = sequenceNumber &+ 1
            }
            return
        }
        badSequence = nil
        _ = unwrapper.unwrap(sequenceNumber)
        packetsReceived += 1
        if extended > highestSequence { highestSequence = extended }
        updateJitter(rtpTimestamp: rtpTimestamp, arrival: arrival)
    }

    private mutating func restart(at sequenceNumber: UInt16) {
        unwrapper = SequenceNumberUnwrapper()
        let extended = unwrapper.unwrap(sequenceNumber)
        started = true
        badSequence = nil
        baseSequence = extended
        highestSequence = extended
        packetsReceived = 1
        expectedPrior = 0
        receivedPrior = 0
    }

    /// RFC 3550 §A.8: J += (|D| - J) / 16 with D the change in transit time. Packets sharing the previous packet's
    /// timestamp (one video frame split over several packets) are skipped: they were not sampled at their own times.
    private mutating func updateJitter(rtpTimestamp: UInt32, arrival: Instant) {
        guard lastJitterTimestamp != rtpTimestamp else { return }
        lastJitterTimestamp = rtpTimestamp
        let nanos = arrival.nanoseconds
        let rate = UInt64(clockRate)
        let arrivalUnits = (nanos / 1_000_000_000) &* rate &+ (nanos % 1_000_000_000) * rate / 1_000_000_000
        // Transit modulo 2^32, read as signed: only differences matter.
        let transit = Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: arrivalUnits) &- rtpTimestamp))
        if let lastTransit {
            let d = Int64(Int32(truncatingIfNeeded: transit &- lastTransit)).magnitude
            jitterEstimate += (Double(d) - jitterEstimate) / 16
        }
        lastTransit = transit
    }

    /// A reception report block for `ssrc`; the fraction lost covers the interval since the previous call
    /// (RFC 3550 §A.3).
    public mutating func makeReportBlock(
        ssrc: UInt32, lastSenderReport: UInt32, delaySinceLastSenderReport: UInt32
    ) -> RTCPReportBlock {
        let expected = packetsExpected
        let expectedInterval = expected - expectedPrior
        let receivedInterval = Int64(packetsReceived) - Int64(receivedPrior)
        expectedPrior = expected
        receivedPrior = packetsReceived
        let lostInterval = expectedInterval - receivedInterval
        let fraction: UInt8 = expectedInterval <= 0 || lostInterval <= 0
            ? 0 : UInt8(min(255, (lostInterval << 8) / expectedInterval))
        return RTCPReportBlock(
            ssrc: ssrc, fractionLost: fraction,
            cumulativeLost: Int32(clamping: min(max(cumulativeLost, -0x80_0000), 0x7F_FFFF)),
            highestSequence: UInt32(truncatingIfNeeded: highestSequence), jitter: jitter,
            lastSenderReport: lastSenderReport, delaySinceLastSenderReport: delaySinceLastSenderReport)
    }
}
