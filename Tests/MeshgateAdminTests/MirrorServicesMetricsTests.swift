import Foundation
import MeshgateControl
import Testing

@testable import MeshgateAdmin

/// The Kubernetes mirror writer's series from `/status`'s `mirrorServices`.
@Suite struct MirrorServicesMetricsTests {
    static func status(_ mirror: MirrorServicesStatus?) -> GatewayStatus {
        var status = MirrorRefusalMetricsTests.status(conflicts: 0, services: 0, routes: 0)
        status.mirrorServices = mirror
        return status
    }

    static func writer(leader: Bool, writes: [String: Int], conflicts: Int, written: Int) -> MirrorServicesStatus {
        MirrorServicesStatus(
            leader: leader, holder: "gateway-0", leaseTransitions: 1, desired: written, written: written, writes: writes,
            conflicts: (0..<conflicts).map { MirrorServiceConflict(namespace: "default", name: "x\($0)-west", reason: "not ours") },
            lastError: nil, pending: 0)
    }

    @Test func writesConflictsLeaderAndOwnedServicesAreExported() throws {
        let exporter = PrometheusExporter()
        var p = try PromText(
            String(
                decoding: exporter.render(
                    status: Self.status(Self.writer(leader: true, writes: ["create": 3, "update": 1], conflicts: 2, written: 3)),
                    traffic: nil), as: UTF8.self))
        #expect(p.types["meshgate_mirror_service_writes_total"] == "counter")
        #expect(p.types["meshgate_mirror_service_conflicts"] == "gauge")
        #expect(p.value("meshgate_mirror_service_writes_total", ["op": "create"]) == 3)
        #expect(p.value("meshgate_mirror_service_writes_total", ["op": "update"]) == 1)
        #expect(p.value("meshgate_mirror_service_writes_total", ["op": "delete"]) == 0)
        #expect(p.value("meshgate_mirror_service_conflicts", [:]) == 2)
        #expect(p.value("meshgate_mirror_lease_leader", [:]) == 1)
        #expect(p.value("meshgate_mirror_services", [:]) == 3)
        p = try PromText(
            String(
                decoding: exporter.render(
                    status: Self.status(Self.writer(leader: false, writes: ["create": 4, "update": 1], conflicts: 0, written: 4)),
                    traffic: nil), as: UTF8.self))
        #expect(p.value("meshgate_mirror_service_writes_total", ["op": "create"]) == 4)
        #expect(p.value("meshgate_mirror_lease_leader", [:]) == 0)
        #expect(p.value("meshgate_mirror_service_conflicts", [:]) == 0)
    }

    @Test func noWriterNoSeries() throws {
        let exporter = PrometheusExporter()
        let p = try PromText(String(decoding: exporter.render(status: Self.status(nil), traffic: nil), as: UTF8.self))
        #expect(p.types["meshgate_mirror_lease_leader"] == nil)
        #expect(p.types["meshgate_mirror_service_writes_total"] == nil)
    }
}
