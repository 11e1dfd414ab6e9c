import Glibc
import SkylarkBase

extension Instant {
    /// Reads the process's monotonic clock (`CLOCK_MONOTONIC`). Only runtimes and tests call this.
    public static func now() -> Instant {
        let d = ContinuousClock.now - origin
        return Instant(nanoseconds: UInt64(d.components.seconds) * 1_000_000_000
            + UInt64(d.components.attoseconds / 1_000_000_000))
    }

    private static let origin = ContinuousClock.now - .seconds(1)
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
