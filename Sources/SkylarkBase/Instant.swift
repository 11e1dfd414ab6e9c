/// A point in time for the sans-IO protocol layers: nanoseconds on a monotonic clock with an arbitrary origin.
///
/// The layers never read a clock: the runtime (`Instant.now()` in the Runtime target) or a test's virtual clock
/// passes `Instant`s in.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// The origin of a simulated clock.
    public static let zero = Instant(nanoseconds: 0)

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        let nanos = rhs.components.seconds * 1_000_000_000 + rhs.components.attoseconds / 1_000_000_000
        if nanos < 0 { return Instant(nanoseconds: lhs.nanoseconds &- UInt64(-nanos)) }
        return Instant(nanoseconds: lhs.nanoseconds &+ UInt64(nanos))
    }

    public static func - (lhs: Instant, rhs: Instant) -> Duration {
        if lhs.nanoseconds >= rhs.nanoseconds {
            return .nanoseconds(Int64(lhs.nanoseconds - rhs.nanoseconds))
        }
        return .nanoseconds(-Int64(rhs.nanoseconds - lhs.nanoseconds))
    }

    public static func += (lhs: inout Instant, rhs: Duration) { lhs = lhs + rhs }

    public var description: String { "\(Double(nanoseconds) / 1e9)s" }
}

extension Duration {
    /// The duration in whole milliseconds (truncated).
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// The duration in seconds as a `Double`.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
