#if canImport(Glibc)
import Glibc
#endif

/// Nanoseconds on the monotonic clock; the harness measures and bounds everything with it.
enum MonotonicTime {
    /// The current monotonic time in nanoseconds.
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Milliseconds from now until `deadline` (0 when it has passed), capped at `cap`, for poll/epoll timeouts.
    static func millisUntil(_ deadline: UInt64, cap: Int32 = 1000) -> Int32 {
        let now = now()
        if deadline <= now { return 0 }
        let ms = (deadline - now + 999_999) / 1_000_000
        return Int32(min(UInt64(cap), ms))
    }
}

extension Duration {
    /// The duration in whole nanoseconds (negative durations become 0).
    var nanoseconds: UInt64 {
        let c = components
        if c.seconds < 0 { return 0 }
        return UInt64(c.seconds) &* 1_000_000_000 &+ UInt64(max(0, c.attoseconds) / 1_000_000_000)
    }

    /// The duration in seconds as a floating-point number.
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
