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
}
