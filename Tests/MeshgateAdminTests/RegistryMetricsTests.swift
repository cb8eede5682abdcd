import Foundation
import MeshgateControl
import Testing

@testable import MeshgateAdmin

/// `meshgate_registry_*` from `/status`'s `registry`: the sync age and synced gauges, and the
/// re-list and watch-restart counters of the Kubernetes source.
@Suite struct RegistryMetricsTests {
    static func status(_ registry: RegistrySourceStatus?) -> GatewayStatus {
        var s = MirrorRefusalMetricsTests.status(conflicts: 0, services: 0, routes: 0)
        s.links = []
        s.registry = registry
        return s
    }

    static func scrape(_ exporter: PrometheusExporter, _ registry: RegistrySourceStatus?) throws -> PromText {
        try PromText(String(decoding: exporter.render(status: Self.status(registry), traffic: nil), as: UTF8.self))
    }

    @Test func kubernetesSourceSeries() throws {
        let exporter = PrometheusExporter()
        let sync = Date(timeIntervalSince1970: 1_000)
        let kube = RegistrySourceStatus(
            source: "kubernetes", server: "https://127.0.0.1:6443", synced: true, lastSync: sync, relists: 2, watchRestarts: 5, services: 3)
        var p = try Self.scrape(exporter, kube.aged(now: sync.addingTimeInterval(4)))
        #expect(p.types["meshgate_registry_sync_age_seconds"] == "gauge" && p.types["meshgate_registry_synced"] == "gauge")
        #expect(p.types["meshgate_registry_relists_total"] == "counter" && p.types["meshgate_registry_watch_restarts_total"] == "counter")
        #expect(p.value("meshgate_registry_sync_age_seconds", [:]) == 4)
        #expect(p.value("meshgate_registry_synced", [:]) == 1)
        #expect(p.value("meshgate_registry_relists_total", [:]) == 2)
        #expect(p.value("meshgate_registry_watch_restarts_total", [:]) == 5)
        // The API server gone for a while: the age grows at each scrape.
        p = try Self.scrape(exporter, kube.aged(now: sync.addingTimeInterval(30)))
        #expect(p.value("meshgate_registry_sync_age_seconds", [:]) == 30)
    }

    @Test func aFileRegistryHasNoWatchCountersAndNoRegistryNoSeries() throws {
        let exporter = PrometheusExporter()
        let p = try Self.scrape(exporter, RegistrySourceStatus(source: "file", synced: true, services: 2))
        #expect(p.value("meshgate_registry_synced", [:]) == 1)
        #expect(p.types["meshgate_registry_relists_total"] == nil && p.types["meshgate_registry_sync_age_seconds"] == nil)
        let none = try Self.scrape(PrometheusExporter(), nil)
        #expect(none.types["meshgate_registry_synced"] == nil)
    }
}
