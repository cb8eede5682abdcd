import Foundation
import Logging
import MeshgateProxy

/// Routes that got no listener: logged once per burst, tried again every second.
extension GatewayController {
    /// How often routes waiting for a port are tried again.
    static let portRetryInterval: Duration = .seconds(1)

    /// Logs routes without a listener, one line per reason with the count and a few keys,
    /// so that a link that takes every port does not become a thousand log lines.
    func logNoListener(_ failed: [String: String]) {
        guard !failed.isEmpty else { return }
        for (reason, keys) in Self.groupedFailures(failed) {
            if keys.count == 1 {
                logger.error("route \(keys[0]) has no listener: \(reason) (waiting; tried again as ports free up)")
            } else {
                let shown = keys.prefix(3).joined(separator: ", ") + (keys.count > 3 ? ", …" : "")
                logger.error("\(keys.count) routes have no listener: \(reason) (\(shown); waiting; tried again as ports free up)")
            }
        }
    }

    /// Failures grouped by reason, in reason order, keys sorted.
    static func groupedFailures(_ failed: [String: String]) -> [(reason: String, keys: [String])] {
        Dictionary(grouping: failed.keys, by: { failed[$0]! }).map { ($0.key, $0.value.sorted()) }.sorted { $0.reason < $1.reason }
    }

    /// Logs routes that had waited for a port and now listen.
    func logRecovered(_ report: PublishReport) {
        let recovered = report.recovered.sorted()
        guard !recovered.isEmpty else { return }
        if recovered.count <= 3 {
            for key in recovered {
                guard let address = report.listening[key] else { continue }
                logger.info("route \(key) on \(address) (had waited for a port)")
            }
        } else {
            logger.info(
                "\(recovered.count) routes that had waited for a port now listen (\(recovered.prefix(3).joined(separator: ", ")), …)")
        }
    }

    /// Starts the timer that tries waiting routes again.
    func startPortRetry() {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "meshgate.port-retry"))
        let interval = DispatchTimeInterval.milliseconds(Int(Self.portRetryInterval.components.seconds * 1000))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(100))
        timer.setEventHandler { [weak self] in
            guard let self, let report = publisher.retryWaiting() else { return }
            logRecovered(report)
            pokeMirrorWriter()
        }
        exchangeLocked(\.portRetry, with: timer)?.cancel()
        timer.resume()
    }

    /// Stops it.
    func stopPortRetry() {
        exchangeLocked(\.portRetry)?.cancel()
    }
}
