import MeshgateControl
import Testing

@testable import MeshgateCLI

/// The POOL column of `meshgate gateways`: what it shows for a link's warm-pool counts.
@Suite struct GatewaysPoolColumnTests {
    static func pool(idle: UInt64 = 0, opened: UInt64 = 0, hits: UInt64 = 0, misses: UInt64 = 0, lost: UInt64 = 0, failed: UInt64 = 0)
        -> LinkStatus.Pool
    {
        LinkStatus.Pool(
            idle: idle, opening: 0, opened: opened, hits: hits, misses: misses, expired: 0, closedByPeer: 0, lost: lost,
            drained: 0, failed: failed)
    }

    @Test func cells() {
        #expect(GatewaysCommand.pool(nil) == "-", "no counts from the gateway")
        #expect(GatewaysCommand.pool(Self.pool()) == "-", "no pool on the link")
        #expect(GatewaysCommand.pool(Self.pool(idle: 4, opened: 4)) == "4 ready")
        #expect(GatewaysCommand.pool(Self.pool(idle: 3, opened: 17, hits: 12, misses: 1)) == "3 ready, 12/13 hits")
        #expect(GatewaysCommand.pool(Self.pool(idle: 0, opened: 4, hits: 4, lost: 2, failed: 6)) == "0 ready, 4/4 hits, 2 lost, 6 failed")
        #expect(GatewaysCommand.pool(Self.pool(failed: 3)) == "0 ready, 3 failed", "a pool that never opened one")
    }
}
