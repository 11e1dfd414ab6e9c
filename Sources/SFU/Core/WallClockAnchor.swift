import SkylarkBase

/// The wall clock as read once at a monotonic `Instant`: the relay core derives wall-clock times from the `now`
/// it is given, so it never reads a clock and runs on virtual time in tests.
struct WallClockAnchor: Sendable {
    var instant: Instant
    var unixNanoseconds: UInt64

    /// Nanoseconds since 1970-01-01 UTC at `now`.
    func nanosecondsSince1970(at now: Instant) -> UInt64 {
        now >= instant ? unixNanoseconds &+ (now.nanoseconds - instant.nanoseconds)
                       : unixNanoseconds &- (instant.nanoseconds - now.nanoseconds)
    }
}
