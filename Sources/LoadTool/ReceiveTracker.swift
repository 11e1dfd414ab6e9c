/// Loss and jitter of one viewer's stream, from RTP sequence numbers and the send time the publisher embedded.
///
/// Sequence numbers are extended past wrap-around as in RFC 3550 §A.1; expected = highest − first + 1, so loss
/// counts gaps between the first and the latest packet. Jitter is RFC 3550 §6.4.1's estimator, with the transit
/// time taken from the embedded send time instead of the RTP timestamp: it is the variation the server
/// and the network add, not the publisher's pacing.
public struct ReceiveTracker: Sendable, Equatable {
    public private(set) var received: UInt64 = 0
    private var firstSequence: Int64 = 0
    private var highestSequence: Int64 = -1
    private var lastTransit: Int64?
    /// Interarrival jitter in nanoseconds.
    public private(set) var jitterNanoseconds: Double = 0

    public init() {}

    /// Packets between the first and the highest sequence number seen.
    public var expected: UInt64 { highestSequence < 0 ? 0 : UInt64(highestSequence - firstSequence + 1) }
    /// Packets never seen (negative with duplicates).
    public var lost: Int64 { Int64(expected) - Int64(received) }

    /// Records one packet; returns how far the highest sequence number advanced (the newly expected packets).
    @discardableResult
    public mutating func record(sequence: UInt16, transitNanoseconds: Int64) -> UInt64 {
        received &+= 1
        if let lastTransit {
            let difference = Double(abs(transitNanoseconds - lastTransit))
            jitterNanoseconds += (difference - jitterNanoseconds) / 16
        }
        lastTransit = transitNanoseconds
        guard highestSequence >= 0 else {
            firstSequence = Int64(sequence)
            highestSequence = Int64(sequence)
            return 1
        }
        let delta = Int64(Int16(bitPattern: sequence &- UInt16(truncatingIfNeeded: highestSequence)))
        guard delta > 0 else { return 0 }  // late or duplicate
        highestSequence += delta
        return UInt64(delta)
    }
}
