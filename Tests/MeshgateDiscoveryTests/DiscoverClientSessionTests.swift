import MeshgateWire
import Testing
@testable import MeshgateDiscovery

/// `DiscoverClientSession` without sockets: bytes in, services and refusals out.
@Suite struct DiscoverClientSessionTests {
    typealias F = DiscoverSessionFrames

    static func session(maxServices: Int = 100, perSecond: Int = 100, services: [DiscoveredService] = []) -> DiscoverClientSession {
        var s = DiscoverClientSession(services: F.byKey(services), maxServices: maxServices, maxUpdatesPerSecond: perSecond)
        s.streamStarted()
        return s
    }

    static func snapshot(_ generation: UInt64, _ services: [DiscoveredService]) -> [DiscoveryMessage] {
        [.snapshotBegin(generation: generation)] + services.map { .upsert($0) } + [.snapshotEnd(generation: generation)]
    }

    @Test("the header asks for port names")
    func request() throws {
        let bytes = try DiscoverClientSession.request(cluster: "east")
        guard case .complete(let header, let consumed) = TransportHeader.decode(bytes) else {
            Issue.record("not a header")
            return
        }
        #expect(header == .discover(cluster: "east", options: .portNames))
        #expect(consumed == bytes.count)
    }

    @Test("a snapshot replaces the services once it ends; then upserts, upsertNamed and removes change single services")
    func snapshotThenUpdates() {
        var s = Self.session(services: [F.service("old")])
        let a = F.service("a"), b = F.service("b", [80, 443])
        let begun = s.receive(F.bytes([.keepalive, .snapshotBegin(generation: 1), .upsert(a)]))
        #expect(begun == DiscoverClientStep(), "nothing changes before snapshotEnd")
        #expect(s.services == F.byKey([F.service("old")]))

        let ended = s.receive(F.bytes([.upsert(b), .snapshotEnd(generation: 1)]))
        #expect(ended.changed && ended.snapshotEnded && ended.refusal == nil)
        #expect(ended.refusedBySnapshot == DiscoverClientStep.Refused())
        #expect(s.services == F.byKey([a, b]))

        let named = F.service("c", [80], names: ["http"])
        let updated = s.receive(F.bytes([.upsertNamed(named), .remove(namespace: "default", name: "a"), .keepalive]))
        #expect(updated.changed && !updated.snapshotEnded && updated.refusedBySnapshot == nil)
        #expect(s.services == F.byKey([b, named]))

        // A later snapshot replaces everything again.
        let again = s.receive(F.bytes(Self.snapshot(2, [a])))
        #expect(again.snapshotEnded)
        #expect(s.services == F.byKey([a]))
    }

    @Test("frames split across reads are taken once whole; changes of one read are applied together")
    func splitFrames() {
        var s = Self.session()
        let bytes = F.bytes(Self.snapshot(1, [F.service("a"), F.service("b")]) + [.upsert(F.service("c"))])
        var steps: [DiscoverClientStep] = []
        for i in stride(from: 0, to: bytes.count, by: 3) { steps.append(s.receive(Array(bytes[i..<min(i + 3, bytes.count)]))) }
        #expect(steps.filter(\.snapshotEnded).count == 1)
        #expect(steps.allSatisfy { $0.refusal == nil })
        #expect(s.services == F.byKey([F.service("a"), F.service("b"), F.service("c")]))
    }

    @Test("a snapshot restarted with the same generation starts over; an update in the same read before a snapshot ended is superseded")
    func restartedSnapshot() {
        var s = Self.session()
        _ = s.receive(F.bytes(Self.snapshot(1, [F.service("a")])))
        let step = s.receive(F.bytes([
            .upsert(F.service("z")), .snapshotBegin(generation: 2), .upsert(F.service("x")), .snapshotBegin(generation: 2),
            .upsert(F.service("y")), .snapshotEnd(generation: 2),
        ]))
        #expect(step.refusal == nil && step.snapshotEnded)
        #expect(s.services == F.byKey([F.service("y")]))
    }

    // MARK: - Refusals

    @Test("a malformed frame: refused with the codec's reason; what came before it is applied")
    func malformed() {
        var s = Self.session()
        _ = s.receive(F.bytes(Self.snapshot(1, [])))
        let step = s.receive(F.bytes([.upsert(F.service("a"))]) + [0, 1, 99])
        #expect(step.refusal == .malformedFrame(.unknownType))
        #expect(step.changed)
        #expect(s.services == F.byKey([F.service("a")]))
        #expect(step.refusal?.description.hasPrefix("sent a malformed frame") == true)
        #expect(step.refusal?.description.hasSuffix("closed by us") == true)
    }

    @Test("a frame over the size limit is refused as soon as its length arrives")
    func frameOverLimit() {
        var s = Self.session()
        let length = UInt16(DiscoveryMessage.maxFrameSize + 1)
        let step = s.receive([UInt8(length >> 8), UInt8(length & 0xff)])
        #expect(step.refusal == .malformedFrame(.tooLong))
        #expect(!step.changed)
    }

    @Test("a snapshotBegin of another generation inside an open snapshot: refused, nothing of that snapshot applied")
    func snapshotInsideSnapshot() {
        var s = Self.session(services: [F.service("kept")])
        let step = s.receive(F.bytes([
            .snapshotBegin(generation: 2), .upsert(F.service("a")), .snapshotBegin(generation: 3), .snapshotEnd(generation: 3),
        ]))
        #expect(step.refusal == .snapshotInsideSnapshot(began: 3, open: 2))
        #expect(step.refusal?.description == "began snapshot 3 inside snapshot 2; closed by us")
        #expect(!step.changed && !step.snapshotEnded)
        #expect(s.services == F.byKey([F.service("kept")]))
    }

    @Test("a snapshotEnd with no snapshot open is refused")
    func endWithoutBegin() {
        var s = Self.session()
        _ = s.receive(F.bytes(Self.snapshot(1, [])))
        let step = s.receive(F.bytes([.snapshotEnd(generation: 1)]))
        #expect(step.refusal == .snapshotEndWithoutBegin)
        #expect(step.refusal?.description == "ended a snapshot it never began; closed by us")
    }

    @Test("an upsert or a remove before the stream's first snapshot is refused (keepalives are fine)", arguments: [
        DiscoveryMessage.upsert(DiscoverSessionFrames.service("a")), .upsertNamed(DiscoverSessionFrames.service("a", names: ["http"])),
        .remove(namespace: "default", name: "a"),
    ])
    func updateBeforeSnapshot(update: DiscoveryMessage) {
        var s = Self.session(services: [F.service("kept")])
        let step = s.receive(F.bytes([.keepalive, update]))
        #expect(step.refusal == .updateBeforeSnapshot)
        #expect(!step.changed)
        #expect(s.services == F.byKey([F.service("kept")]))
    }

    @Test("updates over the rate (bursts of 10 × perSecond): refused after the burst, the burst applied; the first snapshot is free")
    func overRate() {
        var s = Self.session(perSecond: 1)
        let t0 = ContinuousClock.now  // after the bucket was filled
        _ = s.receive(F.bytes(Self.snapshot(1, [])), now: t0)
        let burst = (0..<11).map { DiscoveryMessage.upsert(F.service("s\($0)")) }
        let step = s.receive(F.bytes(burst), now: t0)
        #expect(step.refusal == .overRate(perSecond: 1))
        #expect(step.refusal?.description.contains("more than 1 updates a second") == true)
        #expect(step.refusal?.description.contains("bursts of 10") == true)
        #expect(s.services.count == 10)
        // Tokens come back with time: one a second.
        #expect(s.receive(F.bytes([.remove(namespace: "default", name: "s0")]), now: t0 + .seconds(1)).refusal == nil)
        #expect(s.receive(F.bytes([.remove(namespace: "default", name: "s1")]), now: t0 + .seconds(1)).refusal == .overRate(perSecond: 1))
    }

    @Test("a snapshot restarted within a stream costs a token; the budget outlasts the stream")
    func restartCostsAToken() {
        var s = Self.session(perSecond: 1)
        let t0 = ContinuousClock.now  // after the bucket was filled
        _ = s.receive(F.bytes(Self.snapshot(1, [])), now: t0)
        for g in 2...11 { #expect(s.receive(F.bytes(Self.snapshot(UInt64(g), [])), now: t0).refusal == nil) }
        #expect(s.receive(F.bytes(Self.snapshot(12, [])), now: t0).refusal == .overRate(perSecond: 1))
        // A new stream: its first snapshot is free, updates find the bucket still empty.
        s.streamStarted()
        #expect(s.receive(F.bytes(Self.snapshot(1, [])), now: t0).refusal == nil)
        #expect(s.receive(F.bytes([.upsert(F.service("a"))]), now: t0).refusal == .overRate(perSecond: 1))
    }

    @Test("a new stream forgets the half frame and the open snapshot of the last one")
    func streamStarted() {
        var s = Self.session()
        let whole = F.bytes([.snapshotBegin(generation: 1), .upsert(F.service("a"))])
        _ = s.receive(whole + [0, 9])
        s.streamStarted()
        #expect(s.receive(F.bytes([.upsert(F.service("b"))])).refusal == .updateBeforeSnapshot)
        s.streamStarted()
        #expect(s.receive(F.bytes([.snapshotEnd(generation: 1)])).refusal == .snapshotEndWithoutBegin)
    }

    // MARK: - Limits

    @Test("limits.services: a snapshot keeps the held services first, then new ones in arrival order; the rest are counted")
    func snapshotOverLimit() {
        var s = Self.session(maxServices: 2, services: [F.service("z")])
        let step = s.receive(F.bytes(Self.snapshot(1, [F.service("b"), F.service("a"), F.service("z"), F.service("c")])))
        #expect(step.snapshotEnded && step.refusal == nil)
        #expect(s.services == F.byKey([F.service("z"), F.service("b")]))
        // c found no room while arriving; a lost its place to the held z when the snapshot ended.
        #expect(step.refusedBySnapshot == DiscoverClientStep.Refused(count: 2, sample: ["default/c", "default/a"]))
    }

    @Test("limits.services: updates of new services are refused while full, changes of held ones are taken; a remove makes room")
    func updatesOverLimit() {
        var s = Self.session(maxServices: 2)
        _ = s.receive(F.bytes(Self.snapshot(1, [F.service("a"), F.service("b")])))
        let step = s.receive(F.bytes([.upsert(F.service("c")), .upsert(F.service("a", [81])), .upsert(F.service("d"))]))
        #expect(step.refusal == nil && step.changed)
        #expect(step.refusedByUpdates == DiscoverClientStep.Refused(count: 2, sample: ["default/c", "default/d"]))
        #expect(s.services == F.byKey([F.service("a", [81]), F.service("b")]))
        let room = s.receive(F.bytes([.remove(namespace: "default", name: "b"), .upsert(F.service("d"))]))
        #expect(room.refusedByUpdates.count == 0)
        #expect(s.services == F.byKey([F.service("a", [81]), F.service("d")]))
    }
}
