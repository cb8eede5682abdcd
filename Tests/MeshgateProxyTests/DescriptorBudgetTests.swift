import Testing

@testable import MeshgateProxy

#if canImport(Glibc)
    import Glibc
#endif

/// The descriptor reserve the data plane leaves to the control plane (docs/operations.md).
@Suite struct DescriptorBudgetTests {
    @Test("the reserve: 64, or 1 % of the limit when more, at most a quarter of it")
    func reserveSize() {
        #expect(DescriptorBudget.controlReserve(limit: 1024) == 64)
        #expect(DescriptorBudget.controlReserve(limit: 256) == 64)
        #expect(DescriptorBudget.controlReserve(limit: 64) == 16)
        #expect(DescriptorBudget.controlReserve(limit: 1_048_576) == 10_485)
        #expect(DescriptorBudget.ceiling(limit: 256) == 192)
        #expect(DescriptorBudget.ceiling(limit: 1 << 30) == Int32((1 << 30) - (1 << 30) / 100))
    }

    // Other tests open and close descriptors meanwhile: only checks that cannot race.
    @Test("exhausted: true when no number below the ceiling is free")
    func exhaustion() throws {
        let lowest = try #require(DescriptorBudget.lowestFree())
        #expect(lowest >= 3)
        #expect(DescriptorBudget.exhausted(ceiling: 0))
        #expect(DescriptorBudget.exhausted(ceiling: 3))
        #expect(!DescriptorBudget.exhausted(ceiling: lowest + 1000))
    }
}
