import Testing
@testable import MeshgateDiscovery

/// `DiscoverServerSession.AnnounceGate` on its own: announce once every loop runs a generation,
/// hold it back otherwise, for at most the bound (counted from the first hold).
@Suite struct DiscoverAnnounceGateTests {
    typealias Gate = DiscoverServerSession.AnnounceGate
    static let start = ContinuousClock.now

    @Test("announced at once when every loop runs the generation (or a later one)", arguments: [UInt64(5), 6])
    func appliedAnnounces(applied: UInt64) {
        var gate = Gate(bound: .seconds(2))
        #expect(gate.decide(generation: 5, appliedByAllLoops: applied, now: Self.start) == .announce(late: false))
        #expect(gate.heldSince == nil)
    }

    @Test("held back until the loops run it; the bound runs from the first hold, across newer generations")
    func heldUntilAppliedOrBound() {
        var gate = Gate(bound: .seconds(2))
        let until = Self.start + .seconds(2)
        #expect(gate.decide(generation: 5, appliedByAllLoops: 4, now: Self.start) == .hold(until: until))
        #expect(gate.decide(generation: 6, appliedByAllLoops: 5, now: Self.start + .seconds(1)) == .hold(until: until))
        #expect(gate.decide(generation: 6, appliedByAllLoops: 6, now: Self.start + .milliseconds(1500)) == .announce(late: false))
        #expect(gate.heldSince == nil, "an announcement ends the hold")
        #expect(gate.decide(generation: 7, appliedByAllLoops: 6, now: Self.start + .seconds(3)) == .hold(until: Self.start + .seconds(5)))
    }

    @Test("announced late once the bound has passed with a loop still behind; the next hold starts afresh")
    func boundPassedAnnouncesLate() {
        var gate = Gate(bound: .seconds(2))
        _ = gate.decide(generation: 5, appliedByAllLoops: 4, now: Self.start)
        #expect(gate.decide(generation: 5, appliedByAllLoops: 4, now: Self.start + .seconds(2)) == .announce(late: true))
        #expect(gate.decide(generation: 6, appliedByAllLoops: 4, now: Self.start + .seconds(3)) == .hold(until: Self.start + .seconds(5)))
    }
}
