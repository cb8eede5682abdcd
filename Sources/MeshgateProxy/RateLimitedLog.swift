import Foundation
import Logging
import MeshgateLoop

/// Logs at most one line per reason per interval, with the number of lines suppressed since,
/// so a flood of refusals never becomes a flood of logs. Any thread may use it: one instance
/// shared by all loops of a process logs a burst spread over loops once. Also used by the
/// control side (repeated probe and DNS failures) and the admin endpoint (slow clients).
public final class RateLimitedLog: @unchecked Sendable {
    // Invariant: `last` is only touched while holding `lock`. Only failure paths log, so the
    // lock is off the data path.
    private let lock = NSLock()
    private let logger: Logger
    private let interval: Int64
    private var last: [String: (at: Int64, suppressed: Int)] = [:]

    /// Logs through `logger`, at most one line per reason per `interval`.
    public init(logger: Logger, interval: Duration = .seconds(1)) {
        self.logger = logger
        self.interval = interval.nanoseconds
    }

    /// Logs `message` as a warning unless `reason` was logged less than `interval` ago (then
    /// counts it, to be reported with the next line). Returns whether it logged.
    @discardableResult
    public func warning(_ reason: String, _ message: @autoclosure () -> String) -> Bool {
        let now = MonotonicClock.nanoseconds()
        let suppressed: Int? = lock.withLock {
            if let entry = last[reason], now - entry.at < interval {
                last[reason] = (entry.at, entry.suppressed + 1)
                return nil
            }
            let count = last[reason]?.suppressed ?? 0
            last[reason] = (now, 0)
            return count
        }
        guard let suppressed else { return false }
        if suppressed > 0 {
            logger.warning("\(message()) (\(suppressed) similar suppressed)")
        } else {
            logger.warning("\(message())")
        }
        return true
    }

    /// Forgets `reason` (the failure recovered): its next occurrence is logged at once.
    public func clear(_ reason: String) {
        lock.withLock { _ = last.removeValue(forKey: reason) }
    }
}
