import Testing

@testable import MeshgateProxy

/// The connection state machine without sockets: every transition, each plan, failures,
/// half-close each way, and every timeout.
@Suite struct ConnectionLifecycleTests {
    static let limits = ConnectionLimits(handshakeTimeout: 10_000, headerTimeout: 5_000, connectTimeout: 3_000, idleTimeout: 60_000)
    static let plainProxy = ConnectionPlan(clientTLS: false, readsHeader: false, upstreamTLS: false)
    static let terminating = ConnectionPlan(clientTLS: true, readsHeader: false, upstreamTLS: false)
    static let originating = ConnectionPlan(clientTLS: false, readsHeader: false, upstreamTLS: true)
    static let inbound = ConnectionPlan(clientTLS: true, readsHeader: true, upstreamTLS: false)
    static let outboundClientTLS = ConnectionPlan(clientTLS: true, readsHeader: false, upstreamTLS: true)

    /// A connection under test: its phase, moved by events at a settable time.
    struct Machine {
        var phase = ConnectionPhase.accepted
        let plan: ConnectionPlan
        var now: Int64 = 1_000
        var clock: Int64 = 50

        mutating func on(_ event: ConnectionEvent) -> ConnectionAction {
            ConnectionLifecycle.handle(event, phase: &phase, plan: plan, limits: ConnectionLifecycleTests.limits, now: now, clock: clock)
        }
    }

    @Test func plainProxyConnectsThenOpens() {
        var m = Machine(plan: Self.plainProxy)
        #expect(m.on(.admitted) == .connect)
        #expect(m.phase == .connecting(startedAt: 50))
        m.clock = 70
        #expect(m.on(.connectStarted) == ConnectionAction.none)
        #expect(m.phase == .connecting(startedAt: 70), "the start is taken when the socket is made")
        #expect(m.on(.connected) == .open)
        #expect(m.phase == .open)
    }

    @Test func terminatingProxyHandshakesTheClientFirst() {
        var m = Machine(plan: Self.terminating)
        #expect(m.on(.admitted) == .handshake(.downstream))
        #expect(m.phase == .handshaking(.downstream, startedAt: 50, deadline: 11_000))
        #expect(m.on(.handshakeDone(.downstream)) == .connect)
        #expect(m.on(.connected) == .open)
    }

    @Test func originatingProxyHandshakesUpstreamAfterConnecting() {
        var m = Machine(plan: Self.originating)
        #expect(m.on(.admitted) == .connect)
        m.now = 2_000
        #expect(m.on(.connected) == .handshake(.upstream))
        #expect(m.phase == .handshaking(.upstream, startedAt: 50, deadline: 12_000))
        #expect(m.on(.handshakeDone(.upstream)) == .open)
        #expect(m.phase == .open)
    }

    @Test func gatewayInboundReadsTheHeaderUnderItsOwnDeadline() {
        var m = Machine(plan: Self.inbound)
        #expect(m.on(.admitted) == .handshake(.downstream))
        m.now = 4_000
        #expect(m.on(.handshakeDone(.downstream)) == .readHeader)
        #expect(m.phase == .readingHeader(deadline: 9_000, pooled: false), "the header deadline, not the handshake's")
        #expect(m.on(.headerAccepted) == .connect)
        #expect(m.on(.connected) == .open, "endpoints are plain")
    }

    @Test func outboundWithClientTLSRunsBothHandshakes() {
        var m = Machine(plan: Self.outboundClientTLS)
        #expect(m.on(.admitted) == .handshake(.downstream))
        #expect(m.on(.handshakeDone(.downstream)) == .connect)
        #expect(m.on(.connected) == .handshake(.upstream))
        #expect(m.on(.handshakeDone(.upstream)) == .open)
    }

    @Test func failedConnectsFailOverUntilNoUpstreamIsLeft() {
        var m = Machine(plan: Self.plainProxy)
        _ = m.on(.admitted)
        #expect(m.on(.connectFailed(moreUpstreams: true)) == .connect)
        #expect(m.phase == .connecting(startedAt: 50))
        #expect(m.on(.connectFailed(moreUpstreams: false)) == .end(.upstreamsExhausted))
    }

    @Test func outOfDescriptorsParksOnceAndResumesWithTheNextConnect() {
        var m = Machine(plan: Self.plainProxy)
        _ = m.on(.admitted)
        #expect(m.on(.outOfDescriptors) == .park(first: true))
        #expect(m.phase == .waitingForDescriptor(since: 1_000))
        m.now = 2_000
        #expect(m.on(.outOfDescriptors) == .park(first: false))
        #expect(m.phase == .waitingForDescriptor(since: 1_000), "waiting since the first time")
        m.clock = 99
        #expect(m.on(.connectStarted) == ConnectionAction.none)
        #expect(m.phase == .connecting(startedAt: 99))
    }

    @Test(arguments: [FlowDirection.toUpstream, .toDownstream])
    func halfCloseEachWayThenTheEnd(first: FlowDirection) {
        var m = Machine(phase: .open, plan: Self.plainProxy)
        #expect(m.on(.finished(first)) == ConnectionAction.none)
        #expect(m.phase == .halfClosed(finished: first))
        #expect(m.phase.isOpen, "bytes still flow the other way")
        #expect(m.on(.finished(first)) == ConnectionAction.none, "the same way again changes nothing")
        let other: FlowDirection = first == .toUpstream ? .toDownstream : .toUpstream
        #expect(m.on(.finished(other)) == .end(.done))
    }

    @Test func eventsThatDoNotApplyChangeNothing() {
        var m = Machine(plan: Self.terminating)
        #expect(m.on(.connected) == ConnectionAction.none, "no connect is under way")
        #expect(m.phase == .accepted)
        _ = m.on(.admitted)
        #expect(m.on(.handshakeDone(.upstream)) == ConnectionAction.none, "the other side's handshake")
        #expect(m.on(.headerAccepted) == ConnectionAction.none, "no header is read in this plan")
        #expect(m.on(.finished(.toUpstream)) == ConnectionAction.none)
        #expect(m.phase.handshakingSide == .downstream)
        var free = Machine(phase: .free, plan: Self.plainProxy)
        #expect(free.on(.admitted) == ConnectionAction.none)
        #expect(free.phase == .free)
    }

    @Test func timeoutsPerPhase() {
        let l = Self.limits
        func expiry(_ phase: ConnectionPhase, lastActivity: Int64 = 0, now: Int64) -> ConnectionEnd? {
            ConnectionLifecycle.expiry(phase, lastActivity: lastActivity, limits: l, now: now)
        }
        #expect(expiry(.handshaking(.downstream, startedAt: 0, deadline: 100), now: 100) == nil)
        #expect(expiry(.handshaking(.downstream, startedAt: 0, deadline: 100), now: 101) == .handshakeTimeout(.downstream))
        #expect(expiry(.handshaking(.upstream, startedAt: 0, deadline: 100), now: 101) == .handshakeTimeout(.upstream))
        #expect(expiry(.readingHeader(deadline: 100, pooled: false), now: 101) == .headerTimeout)
        #expect(expiry(.waitingForDescriptor(since: 0), now: 3_000) == nil)
        #expect(expiry(.waitingForDescriptor(since: 0), now: 3_001) == .descriptorWaitTimeout)
        #expect(expiry(.open, lastActivity: 0, now: 60_000) == nil)
        #expect(expiry(.open, lastActivity: 0, now: 60_001) == .idle)
        #expect(expiry(.halfClosed(finished: .toUpstream), lastActivity: 0, now: 60_001) == .idle)
        #expect(expiry(.connecting(startedAt: 0), now: .max / 2) == nil, "the backend bounds a connect")
        #expect(expiry(.accepted, now: .max / 2) == nil)
        #expect(expiry(.free, now: .max / 2) == nil)
    }

    @Test func theTickEndsAnExpiredPhaseOnly() {
        var m = Machine(plan: Self.inbound)
        _ = m.on(.admitted)
        m.now = 11_001
        #expect(m.on(.tick(lastActivity: 0)) == .end(.handshakeTimeout(.downstream)))
        var open = Machine(phase: .open, plan: Self.plainProxy)
        open.now = 30_000
        #expect(open.on(.tick(lastActivity: 0)) == ConnectionAction.none)
        open.now = 60_001
        #expect(open.on(.tick(lastActivity: 0)) == .end(.idle))
    }
}
