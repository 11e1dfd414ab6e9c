import Glibc

/// `CLOCK_MONOTONIC` in nanoseconds: join times, publisher pacing and the run's phases. (Payload stamps use the
/// wall clock, the clock of the kernel's receive timestamps.)
@inline(__always)
public func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
}

/// Sleeps until `deadline` (monotonic nanoseconds); returns at once when it has passed.
func sleep(untilMonotonic deadline: UInt64) {
    while true {
        let now = monotonicNanoseconds()
        guard now < deadline else { return }
        let remaining = deadline - now
        var request = timespec(tv_sec: Int(remaining / 1_000_000_000), tv_nsec: Int(remaining % 1_000_000_000))
        _ = nanosleep(&request, nil)
    }
}
