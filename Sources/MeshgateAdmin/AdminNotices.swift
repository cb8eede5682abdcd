import Foundation
import Logging

/// Log lines about admin clients (evicted, timed out, refused), at most one per reason per
/// interval, with the number suppressed since: a flood of slow clients is no flood of logs.
final class AdminNotices: @unchecked Sendable {
    // Invariant: `last` is only touched with `lock` held.
    private let lock = NSLock()
    private let logger: Logger
    private let interval: TimeInterval
    private var last: [String: (at: Date, suppressed: Int)] = [:]

    init(logger: Logger, interval: TimeInterval = 10) {
        self.logger = logger
        self.interval = interval
    }

    func note(_ reason: String, _ message: @autoclosure () -> String) {
        let now = Date()
        let suppressed: Int? = lock.withLock {
            if let entry = last[reason], now.timeIntervalSince(entry.at) < interval {
                last[reason] = (entry.at, entry.suppressed + 1)
                return nil
            }
            let count = last[reason]?.suppressed ?? 0
            last[reason] = (now, 0)
            return count
        }
        guard let suppressed else { return }
        logger.warning("\(message())\(suppressed > 0 ? " (\(suppressed) similar suppressed)" : "")")
    }
}
