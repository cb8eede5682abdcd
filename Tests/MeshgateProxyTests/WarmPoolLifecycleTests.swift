import MeshgateLoop
import MeshgateNames
import MeshgateWire
import Testing

@testable import MeshgateProxy

/// The warm pool's part of the connection state machine, without sockets: a pooled connection
/// opens and waits, a client adopts its upstream side, the receiving side's pooled header, and
/// the retirements; and the pool's arithmetic (shares, back-off, expiry spread).
@Suite struct WarmPoolLifecycleTests {
    static let limits = ConnectionLimits(
        handshakeTimeout: 10_000, headerTimeout: 5_000, connectTimeout: 3_000, idleTimeout: 60_000, pooledIdleTimeout: 120_000)
    static let pooled = ConnectionPlan(clientTLS: false, readsHeader: false, upstreamTLS: true, pooled: true)
    static let outbound = ConnectionPlan(clientTLS: false, readsHeader: false, upstreamTLS: true)
    static let inbound = ConnectionPlan(clientTLS: true, readsHeader: true, upstreamTLS: false)

    struct Machine {
        var phase = ConnectionPhase.accepted
        let plan: ConnectionPlan
        var now: Int64 = 1_000

        mutating func on(_ event: ConnectionEvent) -> ConnectionAction {
            ConnectionLifecycle.handle(event, phase: &phase, plan: plan, limits: WarmPoolLifecycleTests.limits, now: now, clock: 50)
        }
    }

    @Test func aPooledConnectionConnectsHandshakesAndWaitsWithoutExpiring() {
        var m = Machine(plan: Self.pooled)
        #expect(m.on(.admitted) == .connect)
        #expect(m.on(.connected) == .handshake(.upstream))
        m.now = 2_000
        #expect(m.on(.handshakeDone(.upstream)) == .pool)
        #expect(m.phase == .pooled(since: 2_000))
        // Neither the idle nor any other timeout of the lifecycle ends it: its pool does.
        #expect(ConnectionLifecycle.expiry(m.phase, lastActivity: 0, limits: Self.limits, now: 10_000_000) == nil)
        #expect(m.on(.tick(lastActivity: 0)) == ConnectionAction.none)
        #expect(!m.phase.isOpen)
    }

    @Test(arguments: [WarmPoolRetirement.expired, .closedByPeer, .lost, .drained])
    func aPoolRetiresItsConnectionsInAnyPhase(why: WarmPoolRetirement) {
        for phase in [ConnectionPhase.connecting(startedAt: 1), .handshaking(.upstream, startedAt: 1, deadline: 9), .pooled(since: 1)] {
            var m = Machine(phase: phase, plan: Self.pooled)
            #expect(m.on(.poolRetire(why)) == .end(.poolRetired(why)))
        }
        // A client's connection is never retired by a pool.
        var client = Machine(phase: .open, plan: Self.outbound)
        #expect(client.on(.poolRetire(why)) == ConnectionAction.none)
    }

    @Test func drainAndStopRetirePooledConnectionsButLetClientsRun() {
        var pooled = Machine(phase: .pooled(since: 1), plan: Self.pooled)
        #expect(pooled.on(.drainRequested) == .end(.poolRetired(.drained)))
        var opening = Machine(phase: .connecting(startedAt: 1), plan: Self.pooled)
        #expect(opening.on(.stopRequested) == .end(.poolRetired(.drained)))
        var client = Machine(phase: .open, plan: Self.outbound)
        #expect(client.on(.drainRequested) == ConnectionAction.none)
        #expect(client.on(.stopRequested) == .end(.stopped))
        // The receiving side lets go of a peer's pooled connection as it drains; one whose
        // connect came runs to its end like any connection.
        var held = Machine(phase: .readingHeader(deadline: 9, pooled: true), plan: Self.inbound)
        #expect(held.on(.drainRequested) == .end(.heldPooledReleased))
        var reading = Machine(phase: .readingHeader(deadline: 9, pooled: false), plan: Self.inbound)
        #expect(reading.on(.drainRequested) == ConnectionAction.none)
    }

    @Test func aClientThatAdoptsAPooledUpstreamOpensWithoutAHandshake() {
        var m = Machine(plan: Self.outbound)
        #expect(m.on(.admitted) == .connect)
        #expect(m.on(.pooledAdopted) == .open)
        #expect(m.phase == .open)
        // Only a connecting connection adopts.
        var open = Machine(phase: .readingHeader(deadline: 5, pooled: false), plan: Self.inbound)
        #expect(open.on(.pooledAdopted) == ConnectionAction.none)
    }

    @Test func theReceivingSideWaitsForAPooledConnectionsHeaderUnderThePooledLimit() {
        var m = Machine(plan: Self.inbound)
        #expect(m.on(.admitted) == .handshake(.downstream))
        #expect(m.on(.handshakeDone(.downstream)) == .readHeader)
        #expect(m.phase == .readingHeader(deadline: 6_000, pooled: false))
        m.now = 3_000
        #expect(m.on(.pooledHeader) == .readHeader)
        #expect(m.phase == .readingHeader(deadline: 123_000, pooled: true), "the pooled idle limit, not the header timeout")
        #expect(ConnectionLifecycle.expiry(m.phase, lastActivity: 0, limits: Self.limits, now: 100_000) == nil)
        #expect(ConnectionLifecycle.expiry(m.phase, lastActivity: 0, limits: Self.limits, now: 123_001) == .headerTimeout)
        // A second pooled header changes nothing (the loop refuses it).
        #expect(m.on(.pooledHeader) == ConnectionAction.none)
        // Its connect makes it an inbound connection like any other (the deadline stays: the
        // header is whole and is routed next); a second one changes nothing.
        #expect(m.on(.pooledConnect) == ConnectionAction.none)
        #expect(m.phase == .readingHeader(deadline: 123_000, pooled: false))
        #expect(m.on(.pooledConnect) == ConnectionAction.none)
        #expect(m.phase == .readingHeader(deadline: 123_000, pooled: false))
        #expect(m.on(.headerAccepted) == .connect)
    }

    @Test func poolSharesBackOffAndExpirySpread() {
        let policy = WarmPoolPolicy(idle: 4, maxAge: .seconds(60))
        #expect(policy.perLoop(loops: 1) == 4)
        #expect(policy.perLoop(loops: 2) == 2)
        #expect(policy.perLoop(loops: 3) == 2, "rounded up")
        #expect(policy.perLoop(loops: 8) == 1, "every loop keeps at least one")
        #expect(WarmPoolPolicy(idle: 0, maxAge: .seconds(1)).perLoop(loops: 2) == 0)
        #expect(WarmPool.backoff(failures: 1) == 200_000_000)
        #expect(WarmPool.backoff(failures: 2) == 400_000_000)
        #expect(WarmPool.backoff(failures: 50) == 30_000_000_000, "capped at 30 s")
    }
}

/// `WarmPool` without a loop: expiry spread and when its connections must start over.
@Suite struct WarmPoolTableTests {
    static func route(gateways: [String], alive: Bool = true) throws -> GatewayRoute {
        GatewayRoute(
            key: "default/echo-west:7000", cluster: "west", gateways: try gateways.map { try SocketAddress.resolve($0) },
            expectedIdentity: WorkloadIdentity("spiffe://cluster.local/ns/meshgate-west/sa/gateway")!,
            target: ConnectTarget(namespace: "default", name: "echo", port: 7000), alive: alive,
            pool: WarmPoolPolicy(idle: 2, maxAge: .seconds(10)))
    }

    @Test func expiryIsMaxAgeLessAtMostATenthSpreadBySlot() throws {
        let pool = WarmPool(route: try Self.route(gateways: ["127.0.0.1:1"]), loop: 0)
        let ages = (0..<16).map { pool.expiry(since: 0, slot: UInt32($0)) }
        #expect(ages.allSatisfy { $0 <= 10_000_000_000 && $0 >= 9_000_000_000 })
        #expect(Set(ages).count == 8, "eight different expiries")
    }

    @Test func eachGatewayAddressBacksOffAlone() throws {
        let pool = WarmPool(route: try Self.route(gateways: ["127.0.0.1:1", "127.0.0.1:2"]), loop: 0)
        #expect(pool.mayOpen(address: 0, now: 0) && pool.mayOpen(address: 1, now: 0))
        pool.backOff(now: 1_000, address: 1)
        pool.backOff(now: 1_000, address: 1)
        #expect(pool.mayOpen(address: 0, now: 1_000), "the other address is not held up")
        #expect(!pool.mayOpen(address: 1, now: 1_000 + 399_999_999), "two failures: 400 ms")
        #expect(pool.mayOpen(address: 1, now: 1_000 + 400_000_000))
        pool.succeeded(address: 1)
        pool.backOff(now: 0, address: 1)
        #expect(pool.mayOpen(address: 1, now: 200_000_000), "a success starts the back-off over")
        #expect(!pool.mayOpen(address: 2, now: .max), "no such address")
        pool.backOff(now: 0, address: 5)  // ignored
    }

    @Test func routesShareAPoolWhenTheyNeedTheSameConnections() throws {
        let one = try Self.route(gateways: ["127.0.0.1:1"])
        #expect(WarmPoolKey(one) == WarmPoolKey(try Self.route(gateways: ["127.0.0.1:1"])), "a link's routes share its pool")
        #expect(WarmPoolKey(one) != WarmPoolKey(try Self.route(gateways: ["127.0.0.1:1", "127.0.0.1:2"])), "other gateways: another pool")
        let other = GatewayRoute(
            key: one.key, cluster: one.cluster, gateways: one.gateways,
            expectedIdentity: WorkloadIdentity("spiffe://cluster.local/ns/meshgate-west/sa/other")!, target: one.target, pool: one.pool)
        #expect(WarmPoolKey(one) != WarmPoolKey(other), "another identity to prove: another pool")
        let pool = WarmPool(route: try Self.route(gateways: ["127.0.0.1:1", "127.0.0.1:2"]), loop: 0)
        #expect(pool.balancers.count == 2, "one balancer per gateway address")
        pool.members[3] = WarmPool.Member(generation: 1, address: 1, ready: true)
        #expect(pool.count(address: 1) == 1 && pool.count(address: 0) == 0)
    }
}
