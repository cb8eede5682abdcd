import Foundation
import MeshgateControl
import Testing

@testable import MeshgateAdmin

/// `meshgate_mirror_conflicts_total{cluster}` and `meshgate_mirror_limit_refusals_total{cluster,limit}`
/// from `/status`'s `links[].refusals`: typed counters that follow the link's counts.
@Suite struct MirrorRefusalMetricsTests {
    static func status(conflicts: Int, services: Int, routes: Int) -> GatewayStatus {
        let link = LinkStatus(
            cluster: "b-c", alive: true, streaming: true, synced: true, services: 1, gateways: ["127.0.0.1:1"],
            liveGateways: ["127.0.0.1:1"], latency: .init(p50Ms: nil, p99Ms: nil, lastMs: nil), probes: .init(answered: 1, failed: 0),
            streamsOpened: 1, lastError: nil, lastErrorAt: nil,
            refusals: .init(conflicts: conflicts, services: services, routes: routes, current: []))
        return GatewayStatus(
            cluster: "east", trustDomain: "cluster.local", identity: .init(name: "x", certificate: "x", notAfter: nil), ready: true,
            notReady: [], ioBackend: "epoll", kernelTLS: "none", kernelTLSDetail: "", inbound: "127.0.0.1:1", startedAt: nil,
            drainingSince: nil, routeTable: .init(generation: 1, appliedByAllLoops: 1), services: .init(count: 0, exported: 0),
            links: [link], routes: [], counters: [:])
    }

    @Test func conflictAndLimitCountersFollowTheLink() throws {
        let exporter = PrometheusExporter()
        var p = try PromText(
            String(decoding: exporter.render(status: Self.status(conflicts: 1, services: 3, routes: 4), traffic: nil), as: UTF8.self))
        #expect(p.types["meshgate_mirror_conflicts_total"] == "counter")
        #expect(p.types["meshgate_mirror_limit_refusals_total"] == "counter")
        #expect(p.value("meshgate_mirror_conflicts_total", ["cluster": "b-c"]) == 1)
        #expect(p.value("meshgate_mirror_limit_refusals_total", ["cluster": "b-c", "limit": "services"]) == 3)
        #expect(p.value("meshgate_mirror_limit_refusals_total", ["cluster": "b-c", "limit": "routes"]) == 4)
        p = try PromText(
            String(decoding: exporter.render(status: Self.status(conflicts: 2, services: 3, routes: 4), traffic: nil), as: UTF8.self))
        #expect(p.value("meshgate_mirror_conflicts_total", ["cluster": "b-c"]) == 2)
    }
}
