import Foundation
import MeshgateWire
import Testing

@testable import MeshgateControl
@testable import MeshgateDiscovery
import MeshgateTestKit

/// `links.limits.services` against the scripted gateway: an export over the limit refuses only
/// the new services; the ones the mirror has (working routes) stay, in a new snapshot of the
/// same stream and in the first snapshot of a new stream.
@Suite(.serialized) struct LinkMirrorLimitTests {
    static func svc(_ name: String) -> DiscoveredService { DiscoveredService(namespace: "default", name: name, ports: [80]) }

    @Test("over the services limit, a new snapshot keeps the services the mirror has and refuses only new ones")
    func limitDoesNotEvict() async throws {
        let web = Self.svc("web")
        // Sorted and sent before web: the old code kept the first three it saw and dropped web.
        let flood = (0..<6).map { Self.svc("svc\($0)") }
        let step = MirrorGate()
        let cut = MirrorGate()
        let server = try MirrorTestServer(scripts: [
            { session in
                session.send(LinkMirrorTests.snapshot(1, [web]))
                guard step.wait() else { return }
                session.send(LinkMirrorTests.snapshot(2, flood + [web]))
                guard cut.wait() else { return }
                session.stream.close()
            },
            { session in
                // A new stream (after the first was cut): its first snapshot, web last again.
                session.send(LinkMirrorTests.snapshot(3, flood + [web]))
            },
        ])
        defer {
            step.open()
            cut.open()
            server.stop()
        }
        let observed = LinkMirrorTests.Observed()
        let settings = LinkMirrorTests.slowProbes(maxServices: 3)
        let mirror = try LinkMirrorTests.startedMirror(gateways: [server.address], settings: settings, observed: observed)
        defer { mirror.stop() }

        #expect(await eventually { mirror.state.services == LinkMirrorTests.byKey([web]) })
        step.open()
        let expected = LinkMirrorTests.byKey([web, flood[0], flood[1]])
        #expect(await eventually { mirror.state.services == expected }, "\(mirror.state.services.keys.sorted())")
        #expect(mirror.health.refusedServices == 4)
        #expect(mirror.health.lastError?.contains("limits.services") == true, "\(String(describing: mirror.health.lastError))")
        #expect(observed.log.all.filter { $0.contains("links limits.services") }.count == 1, "\(observed.log.all)")

        // Cut the stream: the reconnect's first snapshot keeps the same three.
        cut.open()
        #expect(await eventually(timeout: .seconds(20)) { server.discoverConnections >= 2 })
        // Generous waits: a loaded machine (other suites' gateways) slows handshakes down.
        #expect(await eventually(timeout: .seconds(20)) { mirror.health.refusedServices >= 8 }, "\(mirror.health.refusedServices)")
        #expect(mirror.health.refusedServices == 8, "the reconnect's snapshot refused the same four")
        #expect(mirror.state.services == expected, "\(mirror.state.services.keys.sorted())")
    }

    @Test("SnapshotIntake: held first, then new ones in arrival order; a lowered limit keeps held ones in key order")
    func intake() {
        var i = SnapshotIntake(held: ["default/z"], limit: 2)
        i.upsert("default/b", Self.svc("b"))
        i.upsert("default/a", Self.svc("a"))
        i.upsert("default/z", Self.svc("z"))
        let (kept, refused) = i.finish()
        #expect(Set(kept.keys) == ["default/z", "default/b"])
        #expect(refused == 1)

        var removed = SnapshotIntake(held: [], limit: 2)
        removed.upsert("default/a", Self.svc("a"))
        removed.remove("default/a")
        removed.upsert("default/b", Self.svc("b"))
        removed.upsert("default/c", Self.svc("c"))
        #expect(Set(removed.finish().services.keys) == ["default/b", "default/c"], "a removed one frees its room")

        var lowered = SnapshotIntake(held: ["default/x", "default/y", "default/w"], limit: 2)
        for n in ["y", "x", "w"] { lowered.upsert("default/\(n)", Self.svc(n)) }
        #expect(Set(lowered.finish().services.keys) == ["default/w", "default/x"])
    }
}
