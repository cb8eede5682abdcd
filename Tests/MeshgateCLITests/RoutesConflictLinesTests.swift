import MeshgateControl
import Testing

@testable import MeshgateCLI

/// `meshgate routes` lists the mirrored Services the Kubernetes writer refused, one line each.
@Suite struct RoutesConflictLinesTests {
    @Test func oneLinePerRefusedServiceNoneWithoutAWriter() {
        #expect(RoutesCommand.serviceConflicts(nil).isEmpty)
        let status = MirrorServicesStatus(
            leader: true, holder: "gateway-0", leaseTransitions: 1, desired: 2, written: 1, writes: [:],
            conflicts: [
                MirrorServiceConflict(
                    namespace: "default", name: "redis-west", reason: "a Service of that name exists and is managed by helm")
            ], lastError: nil, pending: 0)
        #expect(
            RoutesCommand.serviceConflicts(status) == [
                "service default/redis-west: a Service of that name exists and is managed by helm"
            ])
    }
}
