import Foundation
import MeshgateControl
import Testing

@testable import MeshgateAdmin

/// The warm pools' series from the data plane's `gateway_pool_*` counters in `/status`.
@Suite struct PoolMetricsTests {
    @Test func poolStatesAndEventsAreExported() throws {
        var status = MirrorRefusalMetricsTests.status(conflicts: 0, services: 0, routes: 0)
        status.counters["gateway_pool_idle"] = 4
        status.counters["gateway_pool_opening"] = 1
        status.counters["gateway_pool_inbound_idle"] = 6
        status.counters["gateway_pool_hits"] = 17
        status.counters["gateway_pool_misses"] = 2
        status.counters["gateway_pool_drained"] = 8
        status.counters["gateway_pool_lost"] = 3
        let p = try PromText(String(decoding: PrometheusExporter().render(status: status, traffic: nil), as: UTF8.self))
        #expect(p.types["meshgate_pool_connections"] == "gauge")
        #expect(p.types["meshgate_pool_events_total"] == "counter")
        #expect(p.value("meshgate_pool_connections", ["state": "idle"]) == 4)
        #expect(p.value("meshgate_pool_connections", ["state": "opening"]) == 1)
        #expect(p.value("meshgate_pool_connections", ["state": "inbound_idle"]) == 6)
        #expect(p.value("meshgate_pool_events_total", ["event": "hits"]) == 17)
        #expect(p.value("meshgate_pool_events_total", ["event": "misses"]) == 2)
        #expect(p.value("meshgate_pool_events_total", ["event": "drained"]) == 8)
        #expect(p.value("meshgate_pool_events_total", ["event": "lost"]) == 3)
        #expect(p.value("meshgate_pool_events_total", ["event": "expired"]) == 0, "every event has a series")
    }

    @Test func eachLinksPoolHasItsOwnSeries() throws {
        var status = MirrorRefusalMetricsTests.status(conflicts: 0, services: 0, routes: 0)
        status.links[0].pool = LinkStatus.Pool(
            idle: 3, opening: 1, opened: 20, hits: 15, misses: 2, expired: 4, closedByPeer: 1, lost: 5, drained: 6, failed: 7)
        let p = try PromText(String(decoding: PrometheusExporter().render(status: status, traffic: nil), as: UTF8.self))
        #expect(p.types["gateway_pool_connections"] == "gauge")
        #expect(p.types["gateway_pool_events_total"] == "counter")
        #expect(p.value("gateway_pool_connections", ["cluster": "b-c", "state": "idle"]) == 3)
        #expect(p.value("gateway_pool_connections", ["cluster": "b-c", "state": "opening"]) == 1)
        let events = ["opened": 20.0, "hits": 15, "misses": 2, "expired": 4, "closed_by_peer": 1, "lost": 5, "drained": 6, "failed": 7]
        for (event, value) in events {
            #expect(p.value("gateway_pool_events_total", ["cluster": "b-c", "event": event]) == value, "\(event)")
        }
        // A link without counts from the data plane has no pool series.
        status.links[0].pool = nil
        let none = try PromText(String(decoding: PrometheusExporter().render(status: status, traffic: nil), as: UTF8.self))
        #expect(none.value("gateway_pool_connections", ["cluster": "b-c", "state": "idle"]) == nil)
    }
}
