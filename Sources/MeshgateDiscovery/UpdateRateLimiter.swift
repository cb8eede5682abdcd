import Foundation
import MeshgateNames

/// A token bucket: `rate` updates a second on average, bursts of up to `burst`.
struct UpdateRateLimiter: Sendable {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant

    init(perSecond rate: Int, burst: Int) {
        self.rate = Double(max(rate, 1))
        self.burst = Double(max(burst, 1))
        tokens = self.burst
        last = .now
    }

    /// Takes one token; false when none is left (the update is over the limit).
    mutating func take(now: ContinuousClock.Instant = .now) -> Bool {
        tokens = min(burst, tokens + (now - last).seconds * rate)
        last = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
