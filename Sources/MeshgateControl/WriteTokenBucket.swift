import MeshgateNames

/// A token bucket for API writes: `rate` writes a second on average, bursts of up to
/// `burst` (= max(1, rate)). A write reserves a token and waits the returned delay, so writes
/// queue up in order instead of failing.
struct WriteTokenBucket {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant

    init(perSecond rate: Double, now: ContinuousClock.Instant = .now) {
        self.rate = max(rate, 0.01)
        burst = max(1, rate)
        tokens = burst
        last = now
    }

    /// Takes a token; returns how long to wait before writing (zero when one was available).
    mutating func reserve(now: ContinuousClock.Instant = .now) -> Duration {
        if now > last {
            tokens = min(burst, tokens + (now - last).seconds * rate)
            last = now
        }
        tokens -= 1
        guard tokens < 0 else { return .zero }
        return .nanoseconds(Int64((-tokens / rate * 1e9).rounded(.up)))
    }
}
