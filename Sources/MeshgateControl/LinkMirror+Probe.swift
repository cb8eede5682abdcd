import Foundation
import MeshgateDiscovery
import MeshgateLoop
import MeshgateNames
import MeshgateProxy
import MeshgateWire

/// Probes: every `probeInterval` (±10 %), each gateway address gets a `probe` header over a new
/// mTLS connection and must send it back within `probeTimeout`. The addresses of a round are
/// probed at once, under one deadline (`probeTimeout` from the round's start), so a dead
/// address delays no other. `failureThreshold` rounds in a row without any answer take the link
/// down; the first answer brings it back. A probe that fails for a local reason (our own
/// descriptors or memory exhausted: EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL) says nothing
/// about the remote gateway: it is logged (rate-limited), and a round in which no address
/// answered and some address failed that way neither counts toward the threshold nor changes
/// the link's state.
extension LinkMirror {
    /// What one probe round found.
    struct ProbeRound {
        /// Addresses that answered, in the order given, with their round trips.
        var answered: [(SocketAddress, Duration)] = []
        /// Addresses that failed for a remote reason (refused, timed out, bad identity …).
        var failed: [(SocketAddress, String)] = []
        /// Addresses whose probe failed for a local reason.
        var local: [(SocketAddress, String)] = []
    }

    /// Probes every address of `addresses` at once; returns when all have an outcome, at the
    /// latest `probeTimeout` (plus a small margin) after the start.
    func probeRound(_ addresses: [SocketAddress]) -> ProbeRound {
        let results = ProbeResults(count: addresses.count)
        let group = DispatchGroup()
        let deadline = ContinuousClock.now + settings.probeTimeout
        for (i, address) in addresses.enumerated() {
            group.enter()
            let t = Thread { [self] in
                let left = deadline - ContinuousClock.now
                do {
                    results.set(i, .success(try probe(address, timeout: max(left, .milliseconds(1)))))
                } catch {
                    results.set(i, .failure(error))
                }
                group.leave()
            }
            t.name = "probe-\(cluster)-\(i)"
            t.start()
        }
        // Each probe ends by the deadline on its own; the margin covers thread start-up.
        _ = group.wait(timeout: .now() + settings.probeTimeout.seconds + 0.5)
        var round = ProbeRound()
        for (i, address) in addresses.enumerated() {
            switch results.get(i) {
            case .success(let rtt): round.answered.append((address, rtt))
            case .failure(let error) where GatewayProbe.isLocalFailure(error): round.local.append((address, "\(error)"))
            case .failure(let error): round.failed.append((address, "\(error)"))
            case nil: round.failed.append((address, "no answer within \(settings.probeTimeout)"))
            }
        }
        return round
    }

    func runProbes() {
        var failures = 0
        var lastError = ""
        while stopSignal.sleep(for: settings.probeInterval.jittered(by: 0.1)) {
            let addresses = resolveGateways()
            let round = probeRound(addresses)
            if stopSignal.isStopped { return }
            var live: [SocketAddress] = []
            var best: Duration? = nil
            var errors: [String] = []
            for (address, rtt) in round.answered {
                live.append(address)
                best = min(best ?? rtt, rtt)
                recordHealth {
                    $0.probesAnswered += 1
                    $0.recentRoundTrips.append(rtt)
                }
            }
            for (address, error) in round.failed {
                errors.append("\(address): \(error)")
                recordHealth { $0.probesFailed += 1 }
                recordError("probe \(address): \(error)")
            }
            for (address, error) in round.local {
                localProbeWarnings.warning(
                    "local",
                    "link \(cluster): probe of \(address) failed here, not there (\(error)); not counted against the link")
            }
            if live.isEmpty && !round.local.isEmpty {
                // Some addresses could not be probed at all here: this round proves nothing
                // against the link, so it neither counts toward the threshold nor changes state.
                continue
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

    /// One probe of `address` (`GatewayProbe`) within `timeout`, stopped early when the mirror stops.
    func probe(_ address: SocketAddress, timeout: Duration) throws -> Duration {
        try GatewayProbe.probe(
            address, context: credentials(), expected: bundle.identity, timeout: timeout,
            isCancelled: { [stopSignal] in stopSignal.isStopped })
    }

    static func format(_ d: Duration) -> String {
        let ms = d.seconds * 1000
        return ms < 10 ? String(format: "%.2f ms", ms) : String(format: "%.0f ms", ms)
    }
}

/// The outcomes of one probe round, filled by the probing threads.
final class ProbeResults: @unchecked Sendable {
    // Invariant: `outcomes` is only touched with `lock` held.
    private let lock = NSLock()
    private var outcomes: [Result<Duration, any Error>?]

    init(count: Int) { outcomes = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ outcome: Result<Duration, any Error>) { lock.withLock { outcomes[i] = outcome } }

    func get(_ i: Int) -> Result<Duration, any Error>? { lock.withLock { outcomes[i] } }
}
