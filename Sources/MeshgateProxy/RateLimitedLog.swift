import Logging
import MeshgateLoop

/// Logs at most one line per reason per interval, with the number of lines suppressed since,
/// so a flood of refusals never becomes a flood of logs. Loop-confined.
final class RateLimitedLog {
    private let logger: Logger
    private let interval: Int64
    private var last: [String: (at: Int64, suppressed: Int)] = [:]

    init(logger: Logger, interval: Duration = .seconds(1)) {
        self.logger = logger
        self.interval = interval.nanoseconds
    }

    func warning(_ reason: String, _ message: @autoclosure () -> String) {
        let now = MonotonicClock.nanoseconds()
        if let entry = last[reason], now - entry.at < interval {
            last[reason] = (entry.at, entry.suppressed + 1)
            return
        }
        let suppressed = last[reason]?.suppressed ?? 0
        last[reason] = (now, 0)
        if suppressed > 0 {
            logger.warning("\(message()) (\(suppressed) similar suppressed)")
        } else {
            logger.warning("\(message())")
        }
    }
}
