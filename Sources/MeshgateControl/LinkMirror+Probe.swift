import Foundation
import MeshgateLoop
import MeshgateProxy
import MeshgateWire

/// Probes: every `probeInterval` (±10 %), each gateway address gets a `probe` header over a new
/// mTLS connection and must send it back within `probeTimeout`. `failureThreshold` rounds in a
/// row without any answer take the link down; the first answer brings it back.
extension LinkMirror {
    func runProbes() {
        var failures = 0
        var lastError = ""
        while stopSignal.sleep(for: settings.probeInterval.jittered(by: 0.1)) {
            let addresses = resolveGateways()
            var live: [SocketAddress] = []
            var best: Duration? = nil
            var errors: [String] = []
            for address in addresses {
                if stopSignal.isStopped { return }
                do {
                    let rtt = try probe(address)
                    live.append(address)
                    best = min(best ?? rtt, rtt)
                    recordHealth {
                        $0.probesAnswered += 1
                        $0.recentRoundTrips.append(rtt)
                    }
                } catch {
                    errors.append("\(address): \(error)")
                    recordHealth { $0.probesFailed += 1 }
                    recordError("probe \(address): \(error)")
                }
            }
            if addresses.isEmpty { errors.append("no gateway address resolves") }
            if stopSignal.isStopped { return }
            let before = state
            if !live.isEmpty {
                failures = 0
                update {
                    $0.alive = true
                    $0.liveGateways = live
                    $0.lastRoundTrip = best
                }
                // Back up after being down: the stream reconnects now, not after its backoff.
                if !before.alive && !state.streaming { reconnectSignal.nudge() }
                if !before.alive {
                    logger.info("link \(cluster): up (probe answered in \(Self.format(best!)) by \(live.map(\.description).joined(separator: ", ")))")
                } else if live != before.liveGateways {
                    logger.info("link \(cluster): live gateways now \(live.map(\.description).joined(separator: ", "))")
                }
                if !errors.isEmpty && errors.joined() != lastError {
                    logger.warning("link \(cluster): probe failed for \(errors.joined(separator: "; "))")
                }
                lastError = errors.joined()
            } else {
                failures += 1
                let message = errors.joined(separator: "; ")
                if failures >= settings.failureThreshold && before.alive {
                    update { $0.alive = false }
                    logger.warning(
                        "link \(cluster): down after \(failures) failed probe round(s) (\(message)); new connections to its routes are refused (link_down)")
                } else if failures < settings.failureThreshold {
                    logger.warning("link \(cluster): probe round \(failures) of \(settings.failureThreshold) failed: \(message)")
                }
                lastError = errors.joined()
            }
        }
    }

    /// One probe of `address` (`GatewayProbe`), stopped early when the mirror stops.
    func probe(_ address: SocketAddress) throws -> Duration {
        try GatewayProbe.probe(
            address, context: credentials(), expected: bundle.identity, timeout: settings.probeTimeout,
            isCancelled: { [stopSignal] in stopSignal.isStopped })
    }

    static func format(_ d: Duration) -> String {
        let ms = d.seconds * 1000
        return ms < 10 ? String(format: "%.2f ms", ms) : String(format: "%.0f ms", ms)
    }
}
