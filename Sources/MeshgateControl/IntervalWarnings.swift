import Foundation
import Logging
import MeshgateLoop

/// Logs a warning at most once per `interval` for each key, with the number of warnings
/// suppressed since: for failures that repeat every probe round (a gateway host name that does
/// not resolve, our own descriptor exhaustion while probing). Any thread may use it.
final class IntervalWarnings: @unchecked Sendable {
    /// How often a repeated DNS failure of one gateway host is logged.
    static let dnsInterval: Duration = .seconds(60)
    /// DNS failures of link gateways, process-wide (keyed by cluster and host).
    static let dns = IntervalWarnings(interval: dnsInterval)
    /// Probes that failed for a local reason (our own resource exhaustion), keyed by cluster.
    static let localProbe = IntervalWarnings(interval: .seconds(10))

    // Invariant: `last` is only touched with `lock` held.
    private let lock = NSLock()
    private let interval: Int64
    private var last: [String: (at: Int64, suppressed: Int)] = [:]

    init(interval: Duration) {
        self.interval = interval.nanoseconds
    }

    /// Logs `message` unless `key` was logged less than `interval` ago (then counts it).
    /// Returns whether it logged.
    @discardableResult
    func warning(_ logger: Logger, key: String, _ message: @autoclosure () -> String) -> Bool {
        let now = MonotonicClock.nanoseconds()
        let suppressed: Int? = lock.withLock {
            if let entry = last[key], now - entry.at < interval {
                last[key] = (entry.at, entry.suppressed + 1)
                return nil
            }
            let count = last[key]?.suppressed ?? 0
            last[key] = (now, 0)
            return count
        }
        guard let suppressed else { return false }
        logger.warning("\(message())\(suppressed > 0 ? " (\(suppressed) similar suppressed)" : "")")
        return true
    }

    /// Forgets `key` (it recovered): its next failure is logged at once.
    func clear(_ key: String) {
        lock.withLock { _ = last.removeValue(forKey: key) }
    }
}
