import Glibc

/// A point in time for the sans-IO protocol layers: nanoseconds on a monotonic clock with an arbitrary origin.
///
/// The layers never read a clock; the runtime (or a test's simulated clock) passes `Instant`s in.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// The origin of a simulated clock.
    public static let zero = Instant(nanoseconds: 0)

    /// Reads the process's monotonic clock (`CLOCK_MONOTONIC`). Only runtimes and tests call this.
    public static func now() -> Instant {
        let d = ContinuousClock.now - origin
        return Instant(nanoseconds: UInt64(d.components.seconds) * 1_000_000_000
            + UInt64(d.components.attoseconds / 1_000_000_000))
    }

    private static let origin = ContinuousClock.now - .seconds(1)

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

/// The wall clock (`CLOCK_REALTIME`), for timestamps people read and for NTP; `Instant` is for measuring time.
public enum WallClock {
    /// Nanoseconds since 1970-01-01 UTC.
    public static func nanosecondsSince1970() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }

    /// Seconds since 1970-01-01 UTC.
    public static func secondsSince1970() -> Double {
        Double(nanosecondsSince1970()) / 1e9
    }
}
