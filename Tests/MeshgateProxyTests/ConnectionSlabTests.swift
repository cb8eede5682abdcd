import MeshgateLoop
import Testing

@testable import MeshgateProxy

@Suite struct ConnectionSlabTests {
    @Test func reusedSlotsGetANewGeneration() throws {
        let slab = ConnectionSlab(capacity: 4)
        let a = try #require(slab.allocate())
        #expect(slab[a].pointee.phase == .accepted, "an allocated slot is live at once")
        let g = slab[a].pointee.generation
        #expect(slab.live(a, generation: g) != nil)
        slab[a].pointee.phase = .open
        slab.free(a)
        #expect(slab.live(a, generation: g) == nil, "a stale token no longer resolves")
        let b = try #require(slab.allocate())
        #expect(b == a, "the free list reuses the slot")
        slab[b].pointee.phase = .open
        #expect(slab[b].pointee.generation == (g + 1) & 0xFF_FFFF)
        #expect(slab.live(b, generation: g) == nil)
    }

    @Test func fullSlabRefuses() {
        let slab = ConnectionSlab(capacity: 2)
        #expect(slab.allocate() != nil)
        #expect(slab.allocate() != nil)
        #expect(slab.allocate() == nil)
        #expect(slab.count == 2)
    }

    @Test func touchesOnlyWhatItUses() {
        let slab = ConnectionSlab(capacity: 100_000)
        _ = slab.allocate()
        #expect(slab.highWater == 1)
    }

    @Test func freedSlotsAreReset() throws {
        let slab = ConnectionSlab(capacity: 2)
        let a = try #require(slab.allocate())
        slab[a].pointee.phase = .open
        slab[a].pointee.downstream = Descriptor(42)
        slab[a].pointee.toUpstream.pending = 7
        slab.free(a)
        let b = try #require(slab.allocate())
        #expect(slab[b].pointee.phase == .accepted)
        #expect(slab[b].pointee.downstream == nil)
        #expect(slab[b].pointee.toUpstream.pending == 0)
    }
}

@Suite struct PipePoolTests {
    @Test func limitsPipesAndReusesThem() throws {
        let pool = PipePool(requestedSize: 0, limit: 2)
        let a = try #require(pool.acquire())
        let b = try #require(pool.acquire())
        #expect(pool.acquire() == nil, "the pool is bounded")
        #expect(pool.inUse == 2)
        pool.release(a)
        let c = try #require(pool.acquire())
        #expect(c.read == a.read, "a returned pipe is reused")
        pool.release(b)
        pool.release(c)
        #expect(pool.inUse == 0)
    }

    @Test func honoursRequestedSize() throws {
        let pool = PipePool(requestedSize: 1 << 18, limit: 1)
        let p = try #require(pool.acquire())
        #expect(pool.capacity == 1 << 18)
        pool.release(p)
    }
}

@Suite struct CountersTests {
    @Test func snapshotSumsLoops() {
        let a = ProxyCounters()
        let b = ProxyCounters()
        a.add(.accepted, 2)
        b.add(.accepted, 3)
        a.add(.active)
        a.subtract(.active)
        let s = ProxyStatsSnapshot(loops: [a, b])
        #expect(s[.accepted] == 5)
        #expect(s[.active] == 0)
        #expect(s.json().contains("\"accepted\":5"))
        #expect(s.logLine.contains("accepted=5"))
    }
}

@Suite struct ConnectionLayoutTests {
    /// A slab slot's size is a hot-path cost: owned descriptor types must not grow it.
    @Test func slotSizeDoesNotGrow() {
        #expect(MemoryLayout<Connection>.stride <= 248, "256 bytes with Int32 descriptors, 248 typed and reordered")
        #expect(MemoryLayout<Flow>.stride <= 40)
    }
}
