import Testing
import MeshgateLoop
@testable import MeshgateProxy

@Suite struct UpstreamBalancerTests {
    func balancer(_ n: Int, start: Int = 0) throws -> UpstreamBalancer {
        UpstreamBalancer(try (1...n).map { try SocketAddress.resolve("127.0.0.1:\($0)") }, startingAt: start)
    }

    @Test func roundRobin() throws {
        let b = try balancer(3)
        #expect((0..<6).map { _ in b.first(now: 0) } == [0, 1, 2, 0, 1, 2])
    }

    @Test func loopsStartAtDifferentUpstreams() throws {
        #expect(try balancer(3, start: 1).first(now: 0) == 1)
        #expect(try balancer(3, start: 5).first(now: 0) == 2)
    }

    @Test func skipsAnUpstreamHeldDown() throws {
        let b = try balancer(3)
        b.markDown(1, now: 0)
        #expect((0..<4).map { _ in b.first(now: 1) } == [0, 2, 0, 2])
        // The hold-down ends by itself.
        #expect((0..<3).map { _ in b.first(now: 3_000_000_000) }.contains(1))
    }

    @Test func everythingDownStillPicksOne() throws {
        let b = try balancer(2)
        b.markDown(0, now: 0)
        b.markDown(1, now: 0)
        let picks = Set((0..<4).map { _ in b.first(now: 1) })
        #expect(picks == [0, 1])
    }

    @Test func failoverPrefersHealthy() throws {
        let b = try balancer(3)
        b.markDown(1, now: 0)
        #expect(b.after(0, now: 1) == 2)
        b.markUp(1)
        #expect(b.after(0, now: 1) == 1)
    }

    @Test func keepsAddressesStable() throws {
        let b = try balancer(2)
        let p = b.address(1)
        _ = b.first(now: 0)
        #expect(b.address(1) == p)
        #expect(b.descriptions == ["127.0.0.1:1", "127.0.0.1:2"])
    }
}
