import Foundation
import Logging
import MeshgateLoop

/// Logs at most one line per reason per interval, with the number of lines suppressed since,
/// so a flood of refusals never becomes a flood of logs. Shared by all loops of a process, so
/// a burst spread over loops still logs once.
final class RateLimitedLog: @unchecked Sendable {
    // Invariant: `last` is only touched while holding `lock`. Only failure paths log, so the
    // lock is off the data path.
    private let lock = NSLock()
    private let logger: Logger
    private let interval: Int64
    private var last: [String: (at: Int64, suppressed: Int)] = [:]

    init(logger: Logger, interval: Duration = .seconds(1)) {
        self.logger = logger
        self.interval = interval.nanoseconds
    }

    func warning(_ reason: String, _ message: @autoclosure () -> String) {
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
        guard let suppressed else { return }
        if suppressed > 0 {
            logger.warning("\(message()) (\(suppressed) similar suppressed)")
        } else {
            logger.warning("\(message())")
        }
    }
}
