/// A 64-bit NTP timestamp (RFC 3550 §4): seconds since 1900-01-01 and a 32-bit binary fraction.
public struct NTPTime: Sendable, Hashable {
    /// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
    public static let unixEpochOffset: UInt64 = 2_208_988_800

    public var seconds: UInt32
    public var fraction: UInt32

    public init(seconds: UInt32, fraction: UInt32) {
        self.seconds = seconds
        self.fraction = fraction
    }

    /// The NTP time of a wall-clock instant given in nanoseconds since the Unix epoch.
    public init(unixNanoseconds: UInt64) {
        let whole = unixNanoseconds / 1_000_000_000
        let nanos = unixNanoseconds % 1_000_000_000
        seconds = UInt32(truncatingIfNeeded: whole + NTPTime.unixEpochOffset)
        fraction = UInt32(truncatingIfNeeded: (nanos << 32) / 1_000_000_000)
    }

    /// The 64-bit wire value.
    public init(uint64 value: UInt64) {
        self.init(seconds: UInt32(truncatingIfNeeded: value >> 32), fraction: UInt32(truncatingIfNeeded: value))
    }

    /// The 64-bit wire value.
    public var uint64: UInt64 { UInt64(seconds) << 32 | UInt64(fraction) }

    /// The middle 32 bits, as carried in LSR and used for round-trip time (RFC 3550 §6.4.1).
    public var middle32: UInt32 { seconds << 16 | fraction >> 16 }

    /// Nanoseconds since the Unix epoch (for NTP times from 1970 to the 2036 era rollover).
    public var unixNanoseconds: UInt64 {
        let since1970 = UInt64(seconds) &- NTPTime.unixEpochOffset
        return since1970 &* 1_000_000_000 &+ (UInt64(fraction) * 1_000_000_000) >> 32
    }
}
