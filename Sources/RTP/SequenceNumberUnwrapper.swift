/// Extends 16-bit RTP sequence numbers to 64 bits across rollovers (RFC 3550 §A.1).
///
/// Each number is placed within ±32768 of the previous one, so reordering and 65535→0 wraps extend correctly.
/// The first number maps to itself; a number arriving before it (out of order) may map below zero.
public struct SequenceNumberUnwrapper: Sendable, Hashable {
    private var last: Int64?

    public init() {}

    /// The extended value of `seq`, without remembering it.
    public func peek(_ seq: UInt16) -> Int64 {
        guard let last else { return Int64(seq) }
        let delta = Int16(bitPattern: seq &- UInt16(truncatingIfNeeded: last))
        return last + Int64(delta)
    }

    /// The extended value of `seq`; it becomes the reference for the next call.
    public mutating func unwrap(_ seq: UInt16) -> Int64 {
        let value = peek(seq)
        last = value
        return value
    }
}
