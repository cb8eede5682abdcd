import Foundation
import MeshgateLoop
import MeshgateNames
import MeshgateProxy
import MeshgateTLS
import MeshgateWire
import Testing

@testable import MeshgateControl

/// `MirroredRoutes.compose`: who holds a mirrored name when `<svc>-<cluster>` is ambiguous
/// (link `c` exporting `a-b` and link `b-c` exporting `a` both give `default/a-b-c`), and the
/// per-link route cap. Each step feeds the previous step's holders and routes back in, as
/// `GatewayController` does.
@Suite struct MirrorCompositionTests {
    static let gateway = try! SocketAddress.resolve("127.0.0.1:4143")

    static func source(_ cluster: String, _ services: [DiscoveredService], synced: Bool = true, maxRoutes: Int = 256) -> MirrorSource {
        var s = MirrorState()
        for service in services { s.services["\(service.namespace)/\(service.name)"] = service }
        s.synced = synced
        s.liveGateways = [gateway]
        return MirrorSource(
            cluster: cluster, identity: WorkloadIdentity("spiffe://cluster.local/ns/meshgate-\(cluster)/sa/gateway")!, state: s,
            maxRoutes: maxRoutes)
    }

    static let ab = DiscoveredService(namespace: "default", name: "a-b", ports: [80])
    static let a = DiscoveredService(namespace: "default", name: "a", ports: [80])

    /// A gateway's composition state carried from one composition to the next.
    struct Composer {
        var holders: [String: String] = [:]
        var routes: [String: GatewayRoute] = [:]
        var taken: Set<String> = []

        mutating func step(_ sources: [MirrorSource], pruneAbsent: Bool = true) -> MirrorComposition {
            let c = MirroredRoutes.compose(
                sources: sources.sorted { $0.cluster < $1.cluster }, taken: taken, holders: holders, pruneAbsent: pruneAbsent,
                held: routes.mapValues(\.cluster), requireClientTLS: false)
            holders = c.holders
            routes = c.routes
            return c
        }
    }

    @Test("a link linked later cannot take a name another link holds, though its cluster name sorts first")
    func noTakeover() {
        var g = Composer()
        _ = g.step([Self.source("c", [Self.ab])])
        #expect(g.routes["default/a-b-c:80"]?.cluster == "c")
        // b-c is linked; it sorts before c, which is what used to move the route.
        let c = g.step([Self.source("c", [Self.ab]), Self.source("b-c", [Self.a])])
        #expect(g.routes["default/a-b-c:80"]?.cluster == "c")
        #expect(g.routes["default/a-b-c:80"]?.target.name == "a-b")
        #expect(g.holders == ["default/a-b-c": "c"])
        #expect(c.refusals.count == 1)
        let r = c.refusals.first
        #expect(r?.cluster == "b-c")
        #expect(r?.kind == .conflict)
        #expect(r?.key == "default/a-b-c")
        #expect(r?.message.contains("link c holds") == true, "\(r?.message ?? "")")
        // b-c's stream reconnecting (a new snapshot, same content) changes nothing.
        _ = g.step([Self.source("b-c", [Self.a]), Self.source("c", [Self.ab])])
        #expect(g.routes["default/a-b-c:80"]?.cluster == "c")
    }

    @Test("with a recorded holder, either arrival order gives the same holder (a restart)")
    func arrivalOrderAfterRestart() {
        for bcFirst in [true, false] {
            // Restarted with holders from the state file; both links present, neither synced yet.
            var g = Composer(holders: ["default/a-b-c": "c"])
            let cEmpty = Self.source("c", [], synced: false)
            let bcEmpty = Self.source("b-c", [], synced: false)
            _ = g.step([cEmpty, bcEmpty])
            #expect(g.holders == ["default/a-b-c": "c"], "kept while c has no snapshot")
            if bcFirst {
                let early = g.step([cEmpty, Self.source("b-c", [Self.a])])
                #expect(g.routes["default/a-b-c:80"] == nil, "reserved for c: b-c is refused")
                #expect(early.refusals.first?.message.contains("reserved for link c") == true, "\(early.refusals)")
                _ = g.step([Self.source("c", [Self.ab]), Self.source("b-c", [Self.a])])
            } else {
                _ = g.step([Self.source("c", [Self.ab]), bcEmpty])
                _ = g.step([Self.source("c", [Self.ab]), Self.source("b-c", [Self.a])])
            }
            #expect(g.routes["default/a-b-c:80"]?.cluster == "c", "b-c first: \(bcFirst)")
            #expect(g.holders == ["default/a-b-c": "c"])
        }
    }

    @Test("claims new in one composition go to the first cluster name, whatever order the links are given in")
    func simultaneousClaims() {
        for order in [["c", "b-c"], ["b-c", "c"]] {
            var g = Composer()
            let sources = order.map { $0 == "c" ? Self.source("c", [Self.ab]) : Self.source("b-c", [Self.a]) }
            let c = MirroredRoutes.compose(
                sources: sources, taken: [], holders: [:], pruneAbsent: true, held: [:], requireClientTLS: false)
            #expect(c.routes["default/a-b-c:80"]?.cluster == "b-c")
            #expect(c.holders == ["default/a-b-c": "b-c"])
            #expect(c.refusals.map(\.cluster) == ["c"])
            _ = g.step(sources)
            #expect(g.routes["default/a-b-c:80"]?.cluster == "b-c")
        }
    }

    @Test("a holder loses the name when it stops exporting it (synced) or its link is removed, not before")
    func holderReleased() {
        var g = Composer(holders: ["default/a-b-c": "c"])
        // c still loading: b-c refused; the link not loaded yet (pruneAbsent false): reserved too.
        _ = g.step([Self.source("b-c", [Self.a])], pruneAbsent: false)
        #expect(g.routes.isEmpty)
        #expect(g.holders == ["default/a-b-c": "c"])
        // c synced without a-b: released, b-c takes it.
        _ = g.step([Self.source("c", []), Self.source("b-c", [Self.a])])
        #expect(g.routes["default/a-b-c:80"]?.cluster == "b-c")
        #expect(g.holders == ["default/a-b-c": "b-c"])
        // c exports a-b again: b-c keeps it.
        _ = g.step([Self.source("c", [Self.ab]), Self.source("b-c", [Self.a])])
        #expect(g.routes["default/a-b-c:80"]?.cluster == "b-c")
        // b-c's link removed: c gets it.
        _ = g.step([Self.source("c", [Self.ab])])
        #expect(g.routes["default/a-b-c:80"]?.cluster == "c")
        #expect(g.holders == ["default/a-b-c": "c"])
        // A holder whose link is gone for good is dropped.
        _ = g.step([])
        #expect(g.holders.isEmpty)
    }

    @Test("a local name is never mirrored and holds no holder entry")
    func localNameTaken() {
        var g = Composer(holders: ["default/a-b-c": "c"])
        g.taken = ["default/a-b-c"]
        let c = g.step([Self.source("c", [Self.ab])])
        #expect(g.routes.isEmpty)
        #expect(g.holders.isEmpty)
        #expect(c.refusals.map(\.kind) == [.taken])
    }

    @Test("limits.routes: one service with 64 ports gets the cap; routes it has keep their place when more come")
    func routeCap() {
        let wide = DiscoveredService(namespace: "default", name: "wide", ports: (1...64).map { UInt16(1000 + $0) })
        var g = Composer()
        let first = g.step([Self.source("x", [wide], maxRoutes: 8)])
        #expect(g.routes.count == 8)
        #expect(Set(g.routes.keys) == Set((1...8).map { "default/wide-x:\(1000 + $0)" }))
        #expect(first.refusals.count == 56)
        #expect(first.refusals.allSatisfy { $0.kind == .routesLimit && $0.cluster == "x" })
        #expect(first.refusals.first?.message.contains("limits.routes") == true)
        // A service sorting first arrives: the routes held keep their place; it is refused.
        let early = DiscoveredService(namespace: "default", name: "aaa", ports: [1])
        let second = g.step([Self.source("x", [early, wide], maxRoutes: 8)])
        #expect(Set(g.routes.keys) == Set((1...8).map { "default/wide-x:\(1000 + $0)" }))
        #expect(second.refusals.contains { $0.key == "default/aaa-x:1" })
        // Room again once wide shrinks: aaa gets its route.
        let narrow = DiscoveredService(namespace: "default", name: "wide", ports: [1001, 1002])
        _ = g.step([Self.source("x", [early, narrow], maxRoutes: 8)])
        #expect(Set(g.routes.keys) == ["default/wide-x:1001", "default/wide-x:1002", "default/aaa-x:1"])
        // Another link's cap is its own.
        _ = g.step([Self.source("x", [wide], maxRoutes: 8), Self.source("y", [Self.a], maxRoutes: 8)])
        #expect(g.routes["default/a-y:80"] != nil)
    }

    @Test("the holders file round-trips, is written atomically and a broken one is reported")
    func holdersFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("holders-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = MirrorHolders.path(in: dir + "/state")
        #expect(try MirrorHolders.load(path: path).get() == MirrorHolders(), "no file: empty")
        try MirrorHolders(["default/a-b-c": "c"]).save(path: path)
        #expect(try MirrorHolders.load(path: path).get() == MirrorHolders(["default/a-b-c": "c"]))
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/state")
        #expect(names == [MirrorHolders.fileName], "no temporary file left: \(names)")
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: path))
        guard case .failure(let e) = MirrorHolders.load(path: path) else {
            Issue.record("a broken file loads")
            return
        }
        #expect(e.description.hasPrefix(path), "\(e)")
    }
}
