import Foundation
import MeshgateControl
import MeshgateDiscovery
import MeshgateProxy
import Prometheus

/// `/metrics`: a swift-prometheus registry whose series are refreshed from the status and the
/// data plane's traffic figures at scrape time. Counters grow by the difference since the
/// previous scrape (a source that restarted from zero, such as a restarted mirror's probe
/// count, adds its whole new value, so the counter never goes down); gauges are set. A series
/// whose source disappeared (a removed link) is unregistered.
///
/// The two latency histograms are pre-bucketed by the loops and are rendered by
/// `HistogramText` after the registry's output.
final class PrometheusExporter: @unchecked Sendable {
    /// Our series. Help texts and label names are fixed per family, which is what the registry
    /// requires (it traps otherwise).
    let registry = PrometheusCollectorRegistry()
    /// What other code reports through swift-metrics (`MetricsSystem`, bootstrapped by the
    /// gateway command); emitted after ours, kept apart so that no name of theirs can clash
    /// with one of ours inside one registry.
    let metricsRegistry: PrometheusCollectorRegistry?

    /// Identifies one series: family and label values in the family's label order.
    private struct SeriesID: Hashable {
        let family: MetricFamily
        let labels: [String]
    }

    // Invariant: everything below is touched only with `lock` held, so that two scrapes at once
    // neither count a difference twice nor race on registration.
    private let lock = NSLock()
    private var counters: [SeriesID: (counter: Counter, last: UInt64)] = [:]
    private var gauges: [SeriesID: Gauge] = [:]
    private var seen = Set<SeriesID>()

    init(metricsRegistry: PrometheusCollectorRegistry? = nil) {
        self.metricsRegistry = metricsRegistry
    }

    /// Refreshes every series from `status` and `traffic` and returns the exposition text.
    func render(status: GatewayStatus, traffic: TrafficSnapshot?) -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        seen.removeAll(keepingCapacity: true)
        update(status: status, traffic: traffic)
        dropUnseen()
        var out: [UInt8] = []
        out.reserveCapacity(16 << 10)
        registry.emit(into: &out)
        if let traffic {
            HistogramText.render(.tlsHandshake, traffic.handshake, into: &out)
            HistogramText.render(.connect, traffic.connect, into: &out)
        }
        metricsRegistry?.emit(into: &out)
        return out
    }

    private func update(status: GatewayStatus, traffic: TrafficSnapshot?) {
        gauge(.info, [("cluster", status.cluster), ("io_backend", status.ioBackend), ("kernel_tls", status.kernelTLS)], 1)
        gauge(.routeTableGeneration, [], Double(status.routeTable.generation))
        counter(.identityReloadRefused, [], UInt64(max(0, status.identity.reloadsRefused ?? 0)))
        if let late = status.counters[DiscoveryServer.lateAnnouncementsKey] { counter(.discoverLateAnnouncements, [], late) }
        if let left = status.identity.secondsLeft { gauge(.identityExpiry, [], left) }
        if let renewal = status.identity.renewal {
            counter(.identityRenewals, [("result", "ok")], UInt64(renewal.renewals))
            counter(.identityRenewals, [("result", "error")], UInt64(renewal.failures))
        }
        if let registry = status.registry {
            gauge(.registrySynced, [], registry.synced ? 1 : 0)
            if let age = registry.syncAgeSeconds { gauge(.registrySyncAge, [], age) }
            if registry.source == "kubernetes" {
                counter(.registryRelists, [], UInt64(max(0, registry.relists)))
                counter(.registryWatchRestarts, [], UInt64(max(0, registry.watchRestarts)))
            }
        }
        if let mirror = status.mirrorServices {
            for op in ["create", "update", "delete"] {
                counter(.mirrorServiceWrites, [("op", op)], UInt64(max(0, mirror.writes[op] ?? 0)))
            }
            gauge(.mirrorServiceConflicts, [], Double(mirror.conflicts.count))
            gauge(.mirrorLeaseLeader, [], mirror.leader ? 1 : 0)
            gauge(.mirrorServices, [], Double(mirror.written))
        }
        for (key, value) in status.counters.sorted(by: { $0.key < $1.key }) where key.hasPrefix(Self.refusalPrefix) {
            let reason = String(key.dropFirst(Self.refusalPrefix.count))
            counter(.refusals, [("direction", Self.refusalDirection(reason)), ("reason", reason)], value)
        }
        for (key, value) in status.counters.sorted(by: { $0.key < $1.key }) where key.hasPrefix(Self.tlsRefusalPrefix) {
            let reason = String(key.dropFirst(Self.tlsRefusalPrefix.count))
            // The per-side totals are not reasons.
            if reason == "downstream" || reason == "upstream" { continue }
            counter(.tlsRefusals, [("reason", reason)], value)
        }
        for (state, key) in Self.poolStates {
            gauge(.poolConnections, [("state", state)], Double(status.counters[key] ?? 0))
        }
        for (event, key) in Self.poolEvents {
            counter(.poolEvents, [("event", event)], status.counters[key] ?? 0)
        }
        for link in status.links {
            let cluster = [("cluster", link.cluster)]
            gauge(.gatewayAlive, cluster, link.alive ? 1 : 0)
            if let p50 = link.latency.p50Ms { gauge(.gatewayLatency, cluster + [("quantile", "0.5")], p50 / 1000) }
            if let p99 = link.latency.p99Ms { gauge(.gatewayLatency, cluster + [("quantile", "0.99")], p99 / 1000) }
            counter(.gatewayProbes, cluster + [("result", "ok")], UInt64(max(0, link.probes.answered)))
            counter(.gatewayProbes, cluster + [("result", "failed")], UInt64(max(0, link.probes.failed)))
            if let pool = link.pool {
                gauge(.linkPoolConnections, cluster + [("state", "idle")], Double(pool.idle))
                gauge(.linkPoolConnections, cluster + [("state", "opening")], Double(pool.opening))
                for (event, value) in Self.linkPoolEvents(pool) { counter(.linkPoolEvents, cluster + [("event", event)], value) }
            }
            if let r = link.refusals {
                counter(.mirrorConflicts, cluster, UInt64(max(0, r.conflicts)))
                counter(.mirrorLimitRefusals, cluster + [("limit", "services")], UInt64(max(0, r.services)))
                counter(.mirrorLimitRefusals, cluster + [("limit", "routes")], UInt64(max(0, r.routes)))
            }
        }
        guard let traffic else { return }
        let keys = traffic.series.keys.sorted {
            ($0.direction.rawValue, $0.cluster, $0.service) < ($1.direction.rawValue, $1.cluster, $1.service)
        }
        for key in keys {
            guard let counts = traffic.series[key] else { continue }
            let labels = [("direction", key.direction.rawValue), ("cluster", key.cluster), ("service", key.service)]
            for result in TrafficResult.allCases {
                counter(.connections, labels + [("result", result.rawValue)], counts.ended[result] ?? 0)
            }
            counter(.bytes, labels + [("way", "in")], counts.bytesIn)
            counter(.bytes, labels + [("way", "out")], counts.bytesOut)
            gauge(.activeConnections, labels, Double(counts.active))
        }
        for (path, value) in traffic.paths.sorted(by: { $0.key < $1.key }) {
            counter(.connectionsByPath, [("path", path)], value)
        }
    }

    /// `gateway_pool_events_total` events of one link (the names of `poolEvents`).
    static func linkPoolEvents(_ p: LinkStatus.Pool) -> [(String, UInt64)] {
        [
            ("opened", p.opened), ("hits", p.hits), ("misses", p.misses), ("expired", p.expired), ("closed_by_peer", p.closedByPeer),
            ("lost", p.lost), ("drained", p.drained), ("failed", p.failed),
        ]
    }

    /// `meshgate_pool_connections` states and the `ProxyCounters` gauge of each.
    static let poolStates = [("idle", "gateway_pool_idle"), ("opening", "gateway_pool_opening"), ("inbound_idle", "gateway_pool_inbound_idle")]
    /// `meshgate_pool_events_total` events and the `ProxyCounters` counter of each.
    static let poolEvents = [
        ("opened", "gateway_pool_opened"), ("hits", "gateway_pool_hits"), ("misses", "gateway_pool_misses"),
        ("expired", "gateway_pool_expired"), ("closed_by_peer", "gateway_pool_closed_by_peer"), ("lost", "gateway_pool_lost"),
        ("drained", "gateway_pool_drained"),
        ("failed", "gateway_pool_failed"), ("inbound_held", "gateway_pool_inbound_held"),
    ]

    /// `gateway_refused_<reason>` counters of `ProxyCounters`.
    static let refusalPrefix = "gateway_refused_"
    /// `tls_refused_<reason>` counters of `ProxyCounters`.
    static let tlsRefusalPrefix = "tls_refused_"

    /// A refusal reason's direction: `link_down` refuses local clients of a route (outbound);
    /// every other reason refuses a peer gateway's connection (inbound).
    static func refusalDirection(_ reason: String) -> String {
        reason == "link_down" ? TrafficDirection.outbound.rawValue : TrafficDirection.inbound.rawValue
    }

    // MARK: Series

    private func descriptor(_ family: MetricFamily) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: family.name, unitName: "", helpText: family.help)
    }

    private func counter(_ family: MetricFamily, _ labels: [(String, String)], _ value: UInt64) {
        let id = SeriesID(family: family, labels: labels.map(\.1))
        seen.insert(id)
        let clamped = min(value, UInt64(Int64.max))
        if let entry = counters[id] {
            // A source that went back (restarted from zero) adds its whole new value.
            let delta = clamped >= entry.last ? clamped - entry.last : clamped
            if delta > 0 { entry.counter.increment(by: Int64(delta)) }
            counters[id] = (entry.counter, clamped)
        } else {
            let c = registry.makeCounter(descriptor: descriptor(family), labels: labels)
            c.reset()
            if clamped > 0 { c.increment(by: Int64(clamped)) }
            counters[id] = (c, clamped)
        }
    }

    private func gauge(_ family: MetricFamily, _ labels: [(String, String)], _ value: Double) {
        let id = SeriesID(family: family, labels: labels.map(\.1))
        seen.insert(id)
        let g: Gauge
        if let existing = gauges[id] {
            g = existing
        } else {
            g =
                labels.isEmpty
                ? registry.makeGauge(descriptor: descriptor(family)) : registry.makeGauge(descriptor: descriptor(family), labels: labels)
            gauges[id] = g
        }
        g.set(to: value)
    }

    /// Unregisters the series no source reported this time.
    private func dropUnseen() {
        for (id, entry) in counters where !seen.contains(id) {
            registry.unregisterCounter(entry.counter)
            counters.removeValue(forKey: id)
        }
        for (id, g) in gauges where !seen.contains(id) {
            registry.unregisterGauge(g)
            gauges.removeValue(forKey: id)
        }
    }
}
