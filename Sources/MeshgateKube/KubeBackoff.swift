/// Exponential backoff with full jitter: the n-th retry (n from 0) waits a random time in
/// `[0, min(max, initial × 2ⁿ)]`.
public struct KubeBackoff: Hashable, Sendable {
    /// The cap of the first retry.
    public var initial: Duration
    /// The largest cap.
    public var max: Duration

    /// A backoff from its bounds.
    public init(initial: Duration, max: Duration) {
        self.initial = initial
        self.max = max
    }

    /// The upper bound of retry `attempt` (0-based).
    public func cap(attempt: Int) -> Duration {
        var cap = initial
        for _ in 0..<Swift.min(attempt, 40) {
            cap = cap * 2
            if cap >= max { return max }
        }
        return Swift.min(cap, max)
    }

    /// A random delay for retry `attempt`.
    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let cap = cap(attempt: attempt)
        let nanos = cap.components.seconds * 1_000_000_000 + cap.components.attoseconds / 1_000_000_000
        guard nanos > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...nanos, using: &generator))
    }

    /// A random delay for retry `attempt`, from the system generator.
    public func delay(attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(attempt: attempt, using: &generator)
    }
}
