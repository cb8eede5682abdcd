import Foundation
import MeshgateNames

/// A flag that threads sleep on: `sleep(for:)` returns early, with false, once `stop()` is
/// called, and early, with true, when `nudge()` is called during the sleep.
final class StopSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false
    private var nudges = 0

    /// Whether `stop()` has been called.
    var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    /// Sleeps for `duration` unless stopped first; returns false when stopped.
    @discardableResult
    func sleep(for duration: Duration) -> Bool {
        let deadline = Date().addingTimeInterval(duration.seconds)
        condition.lock()
        defer { condition.unlock() }
        let start = nudges
        while !stopped && nudges == start {
            if !condition.wait(until: deadline) { return !stopped }
        }
        return !stopped
    }

    /// Ends the sleeps in progress now (they return true).
    func nudge() {
        condition.lock()
        nudges += 1
        condition.broadcast()
        condition.unlock()
    }

    /// Wakes every sleeper; later sleeps return at once.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}

extension Duration {
    /// This duration scaled by a random factor in 1 ± `fraction`.
    func jittered(by fraction: Double) -> Duration {
        .nanoseconds(Int64(seconds * Double.random(in: (1 - fraction)...(1 + fraction)) * 1e9))
    }
}
