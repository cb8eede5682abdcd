import MeshgateNames

/// Exponential backoff with full jitter for reconnecting a stream: each failure doubles the
/// ceiling (from `initial` up to `maximum`); the wait is uniform in [ceiling/2, ceiling], so
/// many mirrors reconnecting to one gateway spread out. A success resets it.
struct ReconnectBackoff {
    let initial: Duration
    let maximum: Duration
    private(set) var ceiling: Duration

    init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(30)) {
        self.initial = initial
        self.maximum = maximum
        ceiling = initial
    }

    /// The wait before the next attempt; raises the ceiling for the one after.
    mutating func next() -> Duration {
        let wait = Duration.nanoseconds(Int64(ceiling.seconds * Double.random(in: 0.5...1.0) * 1e9))
        ceiling = min(ceiling * 2, maximum)
        return wait
    }

    /// After a success: the next failure waits `initial` again.
    mutating func reset() { ceiling = initial }
}
