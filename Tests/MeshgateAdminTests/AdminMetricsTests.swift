import Foundation
import Logging
import MeshgateControl
import MeshgateDiscovery
import Metrics
import Prometheus
import Testing

@testable import MeshgateAdmin
@testable import MeshgateProxy
import MeshgateTestKit

/// `/metrics` over a real gateway, with traffic figures handed in by the test (what the data
/// plane's `ProxyServer.traffic()` gives in the gateway command).
@Suite("admin endpoint: /metrics")
struct AdminMetricsTests {
    static let outbound = TrafficKey(direction: .outbound, cluster: "west", service: "default/redis-west")
    static let inbound = TrafficKey(direction: .inbound, cluster: "north", service: "default/web")

    /// Figures with `ok` ended outbound connections and `active` open ones.
    static func traffic(ok: UInt64, active: Int64, withInbound: Bool = true) -> TrafficSnapshot {
        var out = TrafficCounts()
        out.ended = [.ok: ok, .reset: 1, .linkDown: 2]
        out.bytesIn = 1000
        out.bytesOut = 250_000
        out.active = active
        var series = [outbound: out]
        if withInbound {
            var inb = TrafficCounts()
            inb.ended = [.refused: 3]
            inb.refusedByReason = ["not_allowed": 3]
            series[inbound] = inb
        }
        return TrafficSnapshot(
            series: series,
            handshake: LatencyHistogram(bounds: [0.001, 0.01, 0.1], counts: [2, 1, 0, 1], sum: 0.5),
            connect: LatencyHistogram(bounds: LatencyHistogram.defaultBounds, counts: [UInt64](repeating: 1, count: 17), sum: 20),
            paths: ["ktls": 0, "userspace": 5, "splice": 1])
    }

    @Test("/metrics is Prometheus text with every family, typed, and the values of the gateway and its traffic")
    func everyFamily() throws {
        let figures = LockedBox<TrafficSnapshot?>(Self.traffic(ok: 5, active: 2))
        let g = try AdminTestGateway(label: "metrics", traffic: { figures.value })
        try g.waitReady()
        let response = try g.get("/metrics")
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        let prom = try PromText(response.text)
        let status = try g.status()

        let expected: [String: String] = [
            "meshgate_connections_total": "counter", "meshgate_refusals_total": "counter", "meshgate_bytes_total": "counter",
            "meshgate_active_connections": "gauge", "meshgate_connections_by_path_total": "counter",
            "meshgate_route_table_generation": "gauge", "meshgate_info": "gauge", "meshgate_tls_handshake_seconds": "histogram",
            "meshgate_connect_seconds": "histogram",
        ]
        for (family, type) in expected { #expect(prom.types[family] == type, "\(family) is a \(type)") }
        // No link: no gateway_* series.
        #expect(prom.types["gateway_alive"] == nil)

        let out = ["direction": "outbound", "cluster": "west", "service": "default/redis-west"]
        #expect(prom.value("meshgate_connections_total", out.merging(["result": "ok"]) { a, _ in a }) == 5)
        #expect(prom.value("meshgate_connections_total", out.merging(["result": "reset"]) { a, _ in a }) == 1)
        #expect(prom.value("meshgate_connections_total", out.merging(["result": "link_down"]) { a, _ in a }) == 2)
        #expect(prom.value("meshgate_connections_total", out.merging(["result": "refused"]) { a, _ in a }) == 0)
        #expect(prom.samples("meshgate_connections_total").count == 8, "4 results × 2 series")
        #expect(prom.value("meshgate_bytes_total", out.merging(["way": "in"]) { a, _ in a }) == 1000)
        #expect(prom.value("meshgate_bytes_total", out.merging(["way": "out"]) { a, _ in a }) == 250_000)
        #expect(prom.value("meshgate_active_connections", out) == 2)
        #expect(
            prom.value(
                "meshgate_connections_total", ["direction": "inbound", "cluster": "north", "service": "default/web", "result": "refused"])
                == 3)
        #expect(prom.value("meshgate_connections_by_path_total", ["path": "userspace"]) == 5)
        #expect(prom.value("meshgate_connections_by_path_total", ["path": "splice"]) == 1)

        // Refusals: one series per gateway_refused_<reason> counter, link_down outbound, the rest inbound.
        let reasons = (ProxyCounters.Name.allCases.map(\.key) + DiscoverRefusal.counted.map(\.counterKey)).filter { $0.hasPrefix("gateway_refused_") }
        #expect(prom.samples("meshgate_refusals_total").count == reasons.count)
        #expect(prom.value("meshgate_refusals_total", ["direction": "outbound", "reason": "link_down"]) == 0)
        #expect(prom.value("meshgate_refusals_total", ["direction": "inbound", "reason": "not_allowed"]) == 0)
        // TLS refusals: one series per tls_refused_<reason> counter (not the per-side totals).
        let tlsReasons = ProxyCounters.Name.allCases.map(\.key).filter {
            $0.hasPrefix("tls_refused_") && $0 != "tls_refused_downstream" && $0 != "tls_refused_upstream"
        }
        #expect(prom.samples("meshgate_tls_refusals_total").count == tlsReasons.count)
        #expect(prom.value("meshgate_tls_refusals_total", ["reason": "identity_issuer_mismatch"]) == 0)

        #expect(
            prom.value("meshgate_info", ["cluster": "east", "io_backend": status.ioBackend, "kernel_tls": status.kernelTLS]) == 1)
        #expect(prom.value("meshgate_route_table_generation") == Double(status.routeTable.generation))
        #expect(prom.value("meshgate_discover_late_announcements_total") == 0, "a gateway exports the discovery server's late announcements")

        // The histograms: cumulative buckets in increasing `le`, +Inf equal to _count, the sum.
        let hs = prom.samples("meshgate_tls_handshake_seconds_bucket")
        #expect(hs.map { $0.labels["le"] ?? "" } == ["0.001", "0.01", "0.1", "+Inf"])
        #expect(hs.map(\.value) == [2, 3, 3, 4])
        #expect(prom.value("meshgate_tls_handshake_seconds_count") == 4)
        #expect(prom.value("meshgate_tls_handshake_seconds_sum") == 0.5)
        let cs = prom.samples("meshgate_connect_seconds_bucket")
        #expect(cs.count == LatencyHistogram.defaultBounds.count + 1)
        #expect(cs.map(\.value) == (1...17).map(Double.init))
        #expect(cs.first?.labels["le"] == "0.0001")
        #expect(prom.value("meshgate_connect_seconds_count") == 17)
    }

    @Test("counters grow by the difference since the last scrape and never go back; gauges are set; vanished series go")
    func countersAndGauges() throws {
        let figures = LockedBox<TrafficSnapshot?>(Self.traffic(ok: 5, active: 2))
        let g = try AdminTestGateway(label: "deltas", traffic: { figures.value })
        let ok = ["direction": "outbound", "cluster": "west", "service": "default/redis-west", "result": "ok"]
        let active = ["direction": "outbound", "cluster": "west", "service": "default/redis-west"]
        func scrape() throws -> PromText { try PromText(try g.get("/metrics").text) }

        var prom = try scrape()
        #expect(prom.value("meshgate_connections_total", ok) == 5)
        #expect(prom.value("meshgate_active_connections", active) == 2)

        figures.value = Self.traffic(ok: 8, active: 0)
        prom = try scrape()
        #expect(prom.value("meshgate_connections_total", ok) == 8)
        #expect(prom.value("meshgate_active_connections", active) == 0)

        // The source restarted from zero (2 now): the counter adds 2, it does not go back.
        figures.value = Self.traffic(ok: 2, active: 1)
        prom = try scrape()
        #expect(prom.value("meshgate_connections_total", ok) == 10)
        #expect(prom.value("meshgate_active_connections", active) == 1)

        // The inbound series is gone from the figures: its series are gone from /metrics.
        figures.value = Self.traffic(ok: 3, active: 1, withInbound: false)
        prom = try scrape()
        #expect(prom.samples("meshgate_connections_total").allSatisfy { $0.labels["direction"] == "outbound" })
        #expect(prom.value("meshgate_connections_total", ok) == 11)

        // No figures at all: no traffic families, no histograms; the gateway's own families stay.
        figures.value = nil
        prom = try scrape()
        #expect(prom.types["meshgate_connections_total"] == nil)
        #expect(prom.types["meshgate_tls_handshake_seconds"] == nil)
        #expect(prom.types["meshgate_info"] == "gauge")
        #expect(try g.status().routes.first?.active == nil)
    }

    @Test("a route's active count in /status is its outbound series' open connections")
    func activeFromTraffic() throws {
        let figures = LockedBox<TrafficSnapshot?>(Self.traffic(ok: 1, active: 7))
        let g = try AdminTestGateway(label: "active", traffic: { figures.value })
        #expect(try g.status().routes.map(\.active) == [7])
        figures.value = Self.traffic(ok: 1, active: 0)
        #expect(try g.status().routes.map(\.active) == [0])
    }

    @Test("a dead link: gateway_alive 0, failed probes counted, no latency series")
    func linkMetrics() throws {
        let g = try AdminTestGateway(label: "linkmetrics", link: true)
        var prom: PromText? = nil
        let down = waitUntil(timeout: 15) {
            prom = try? PromText((try? g.get("/metrics").text) ?? "")
            return prom?.value("gateway_alive", ["cluster": "west"]) == 0
        }
        #expect(down, "gateway_alive{cluster=\"west\"} went to 0")
        let p = try #require(prom)
        #expect(p.types["gateway_alive"] == "gauge")
        #expect(p.types["gateway_probes_total"] == "counter")
        #expect((p.value("gateway_probes_total", ["cluster": "west", "result": "failed"]) ?? 0) >= 2)
        #expect(p.value("gateway_probes_total", ["cluster": "west", "result": "ok"]) == 0)
        #expect(p.samples("gateway_latency_seconds").isEmpty, "no probe answered: no latency")
    }

    @Test("what is reported through swift-metrics is emitted after the gateway's own series")
    func swiftMetricsRegistry() throws {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        let g = try AdminTestGateway(label: "swiftmetrics")
        let admin = AdminServer(
            controller: g.controller, traffic: { nil }, logger: Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }),
            metricsRegistry: registry)
        defer { admin.syncShutdown() }
        let port = try admin.start(host: "127.0.0.1", port: 0).port
        Metrics.Counter(label: "app_reloads_total", dimensions: [("kind", "config")], factory: factory).increment(by: 3)
        let text = try AdminClient.get("127.0.0.1:\(port)", path: "/metrics").text
        let prom = try PromText(text)
        #expect(prom.value("app_reloads_total", ["kind": "config"]) == 3)
        #expect(prom.types["app_reloads_total"] == "counter")
        let ours = try #require(text.range(of: "# TYPE meshgate_info gauge"))
        let theirs = try #require(text.range(of: "# TYPE app_reloads_total counter"))
        #expect(ours.lowerBound < theirs.lowerBound)
    }

    @Test("histogram text: cumulative buckets, +Inf, sum and count; numbers as Prometheus writes them")
    func histogramText() throws {
        var out: [UInt8] = []
        HistogramText.render(.connect, LatencyHistogram(bounds: [0.00025, 1, 2.5], counts: [0, 3, 0, 2], sum: 7.25), into: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.contains("meshgate_connect_seconds_bucket{le=\"0.00025\"} 0\n"))
        #expect(text.contains("meshgate_connect_seconds_bucket{le=\"1\"} 3\n"))
        #expect(text.contains("meshgate_connect_seconds_bucket{le=\"2.5\"} 3\n"))
        #expect(text.contains("meshgate_connect_seconds_bucket{le=\"+Inf\"} 5\n"))
        #expect(text.contains("meshgate_connect_seconds_sum 7.25\n"))
        #expect(text.contains("meshgate_connect_seconds_count 5\n"))
        let prom = try PromText(text)
        #expect(prom.types["meshgate_connect_seconds"] == "histogram")
        // A malformed histogram (a count missing) is left out, not rendered wrong.
        var none: [UInt8] = []
        HistogramText.render(.connect, LatencyHistogram(bounds: [1, 2], counts: [1, 1], sum: 1), into: &none)
        #expect(none.isEmpty)
    }
}
