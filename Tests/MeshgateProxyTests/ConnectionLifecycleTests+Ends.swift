import Testing

@testable import MeshgateProxy

/// The connection state machine's ends that come from outside the happy path: a side that
/// resets, a hand-over from OpenSSL that fails, the loop draining or stopping, a route whose
/// cluster is down. No sockets.
@Suite struct ConnectionLifecycleEndsTests {
    typealias Machine = ConnectionLifecycleTests.Machine
    static let plan = ConnectionLifecycleTests.plainProxy

    /// Every phase a live connection can be in.
    static let livePhases: [ConnectionPhase] = [
        .accepted, .connecting(startedAt: 0), .waitingForDescriptor(since: 0),
        .handshaking(.downstream, startedAt: 0, deadline: 100), .handshaking(.upstream, startedAt: 0, deadline: 100),
        .readingHeader(deadline: 100, pooled: false), .open, .halfClosed(finished: .toUpstream), .halfClosed(finished: .toDownstream),
    ]
    /// The phases in which bytes flow (resets from data calls, hand-overs).
    static let flowingPhases: [ConnectionPhase] = [.open, .halfClosed(finished: .toUpstream), .halfClosed(finished: .toDownstream)]

    @Test(arguments: flowingPhases, [ConnectionSide.downstream, .upstream])
    func aResetOfEitherSideEndsAFlowingConnection(phase: ConnectionPhase, side: ConnectionSide) {
        var m = Machine(phase: phase, plan: Self.plan)
        #expect(m.on(.reset(side)) == .end(.reset(side)), "both sides are reset, the failing one named")
        #expect(m.phase == phase, "the loop closes the slot; the lifecycle does not move")
    }

    @Test(arguments: livePhases)
    func aResetEndsTheConnectionWhereverItIs(phase: ConnectionPhase) {
        var m = Machine(phase: phase, plan: Self.plan)
        #expect(m.on(.reset(.downstream)) == .end(.reset(.downstream)))
        #expect(m.on(.reset(.upstream)) == .end(.reset(.upstream)))
    }

    @Test func aResetAfterOneWayFinishedStillResets() {
        var m = Machine(phase: .open, plan: Self.plan)
        _ = m.on(.finished(.toUpstream))
        #expect(m.on(.reset(.upstream)) == .end(.reset(.upstream)), "a half-closed stream cut short is no clean end")
    }

    @Test(arguments: flowingPhases, [ConnectionSide.downstream, .upstream])
    func aSideThatCannotHandOverStaysInOpenSSL(phase: ConnectionPhase, side: ConnectionSide) {
        for failure in [HandOverFailure.flightPending, .noKeys, .writingStayed] {
            var m = Machine(phase: phase, plan: Self.plan)
            #expect(m.on(.handOverFailed(side, failure)) == .keepOpenSSL(side), "\(failure): user-space TLS carries the side")
            #expect(m.phase == phase, "bytes go on flowing")
        }
    }

    @Test(arguments: flowingPhases, [ConnectionSide.downstream, .upstream])
    func kernelRXKeysRefusedAfterTXEndTheConnection(phase: ConnectionPhase, side: ConnectionSide) {
        var m = Machine(phase: phase, plan: Self.plan)
        #expect(m.on(.handOverFailed(side, .kernelRXRefused)) == .end(.kernelTLSBroken(side)), "no way on and no way back")
    }

    @Test func handOverFailuresBeforeBytesFlowChangeNothing() {
        for phase in Self.livePhases where !phase.isOpen {
            var m = Machine(phase: phase, plan: Self.plan)
            #expect(m.on(.handOverFailed(.downstream, .kernelRXRefused)) == ConnectionAction.none, "\(phase): no hand-over yet")
            #expect(m.phase == phase)
        }
    }

    @Test(arguments: livePhases)
    func drainLetsEveryConnectionRunToItsEnd(phase: ConnectionPhase) {
        var m = Machine(phase: phase, plan: Self.plan)
        #expect(m.on(.drainRequested) == ConnectionAction.none)
        #expect(m.phase == phase, "a drain ends nothing: the loop stops once the slab is empty")
    }

    @Test func aDrainedConnectionStillFinishesNormally() {
        var m = Machine(phase: .open, plan: Self.plan)
        _ = m.on(.drainRequested)
        #expect(m.on(.finished(.toDownstream)) == ConnectionAction.none)
        #expect(m.on(.finished(.toUpstream)) == .end(.done))
        var idle = Machine(phase: .open, plan: Self.plan)
        _ = idle.on(.drainRequested)
        idle.now = 60_001
        #expect(idle.on(.tick(lastActivity: 0)) == .end(.idle), "idle reaping goes on while draining")
    }

    @Test(arguments: livePhases)
    func stoppingTheLoopEndsWhatIsLeft(phase: ConnectionPhase) {
        var m = Machine(phase: phase, plan: Self.plan)
        #expect(m.on(.stopRequested) == .end(.stopped))
    }

    @Test func aFreeSlotIgnoresEveryEnd() {
        for event in [ConnectionEvent.reset(.upstream), .handOverFailed(.downstream, .kernelRXRefused), .drainRequested,
                      .stopRequested, .routeDown] {
            var m = Machine(phase: .free, plan: Self.plan)
            #expect(m.on(event) == ConnectionAction.none, "\(event)")
            #expect(m.phase == .free)
        }
    }

    @Test func aRouteWhoseClusterIsDownIsRefusedAtAdmission() {
        var m = Machine(plan: ConnectionLifecycleTests.outboundClientTLS)
        #expect(m.on(.routeDown) == .end(.linkDown))
        var started = Machine(plan: ConnectionLifecycleTests.outboundClientTLS)
        _ = started.on(.admitted)
        #expect(started.on(.routeDown) == ConnectionAction.none, "only at admission")
    }
}
