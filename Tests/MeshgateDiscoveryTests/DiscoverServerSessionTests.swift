import MeshgateNames
import MeshgateWire
import Testing
@testable import MeshgateDiscovery
@testable import MeshgateProxy

/// `DiscoverServerSession` without sockets: snapshots in, frames out.
@Suite struct DiscoverServerSessionTests {
    typealias F = DiscoverSessionFrames

    static let services = [
        F.exported("default", "web", ports: [8443, 80], names: [80: "http", 8443: "https"]),
        F.exported("default", "hidden", ports: [1], exported: false),
        F.exported("default", "private", ports: [2], allowed: [F.other]),
        F.exported("ops", "db", ports: [5432], allowed: [F.west]),
    ]

    @Test("the opening: begin, one upsert per exported and allowed service in key order, end, at the snapshot's generation")
    func opening() {
        var session = DiscoverServerSession(peer: F.west, options: [])
        let frames = F.messages(session.opening(generation: 7, services: Self.services))
        #expect(frames == [
            .snapshotBegin(generation: 7), .upsert(F.service("web", [80, 8443])),
            .upsert(F.service("db", [5432], namespace: "ops")), .snapshotEnd(generation: 7),
        ])
        #expect(session.generation == 7)
        #expect(Set(session.sent.keys) == ["default/web", "ops/db"])
        var nobody = DiscoverServerSession(peer: nil, options: [])
        #expect(F.messages(nobody.opening(generation: 1, services: Self.services)) == [
            .snapshotBegin(generation: 1), .upsert(F.service("web", [80, 8443])), .snapshotEnd(generation: 1),
        ])
    }

    @Test("port names: upsertNamed with the names when the peer asked (portNames), plain upsert without names when not")
    func portNames() {
        var named = DiscoverServerSession(peer: F.west, options: .portNames)
        #expect(named.named)
        let frames = F.messages(named.opening(generation: 1, services: [Self.services[0]]))
        #expect(frames[1] == .upsertNamed(F.service("web", [80, 8443], names: ["http", "https"])))
        var plain = DiscoverServerSession(peer: F.west, options: [])
        #expect(!plain.named)
        #expect(F.messages(plain.opening(generation: 1, services: [Self.services[0]]))[1] == .upsert(F.service("web", [80, 8443])))

        // Changes follow the same choice.
        let renamed = F.exported("default", "web", ports: [80], names: [80: "web"])
        #expect(F.messages(named.frames(generation: 2, services: [renamed], keepaliveDue: false))
            == [.upsertNamed(F.service("web", [80], names: ["web"]))])
        #expect(F.messages(plain.frames(generation: 2, services: [renamed], keepaliveDue: false)) == [.upsert(F.service("web", [80]))])
    }

    @Test("after the opening: nothing until a newer snapshot or the keepalive is due; changes as removes then upserts by key")
    func changes() {
        var session = DiscoverServerSession(peer: F.west, options: [])
        _ = session.opening(generation: 3, services: Self.services)
        #expect(session.frames(generation: 3, services: Self.services, keepaliveDue: false) == nil)
        #expect(F.messages(session.frames(generation: 3, services: Self.services, keepaliveDue: true)) == [.keepalive])
        // A newer snapshot with nothing this peer sees changed: a keepalive.
        let privateChanged = [Self.services[0], Self.services[3], F.exported("default", "private", ports: [3], allowed: [F.other])]
        #expect(F.messages(session.frames(generation: 4, services: privateChanged, keepaliveDue: false)) == [.keepalive])
        #expect(session.generation == 4)
        // db withdrawn, web changed, api new.
        let next = [F.exported("default", "web", ports: [80]), F.exported("default", "api", ports: [9000])]
        #expect(F.messages(session.frames(generation: 5, services: next, keepaliveDue: false)) == [
            .remove(namespace: "ops", name: "db"), .upsert(F.service("api", [9000])), .upsert(F.service("web", [80])),
        ])
        #expect(Set(session.sent.keys) == ["default/api", "default/web"])
    }

    @Test("input from the peer: an empty read is its close, any byte is junk")
    func peerInput() {
        #expect(DiscoverServerSession.input([]) == .closed)
        #expect(DiscoverServerSession.input([0]) == .junk)
    }

    // MARK: - Admission

    static let eastGateway = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-east/sa/gateway")!

    @Test("who may ask: a gateway identity as its own cluster; another identity only under allow: any; no identity never")
    func whoMayAsk() {
        let gateways = DiscoverServerSession.Admission(policy: DiscoverPolicy(), maxStreams: 8)
        #expect(gateways.refusal(peer: F.west, cluster: "west") == nil)
        #expect(gateways.refusal(peer: F.west, cluster: "east") == .clusterMismatch)
        #expect(gateways.refusal(peer: F.other, cluster: "west") == .notGateway)
        #expect(gateways.refusal(peer: nil, cluster: "west") == .notGateway)
        let any = DiscoverServerSession.Admission(policy: DiscoverPolicy(allow: .any), maxStreams: 8)
        #expect(any.refusal(peer: F.other, cluster: "anything") == nil)
        #expect(any.refusal(peer: F.west, cluster: "east") == .clusterMismatch)
        #expect(any.refusal(peer: nil, cluster: "west") == .notGateway)
    }

    @Test("limits: per identity, then all streams; stopping refuses what the policy allows; release makes room")
    func limits() {
        var a = DiscoverServerSession.Admission(policy: DiscoverPolicy(allow: .any, perIdentity: 2), maxStreams: 3)
        #expect(a.admit(peer: F.west, cluster: "west", stopping: false) == nil)
        #expect(a.admit(peer: F.west, cluster: "west", stopping: false) == nil)
        #expect(a.admit(peer: F.west, cluster: "west", stopping: false) == .perIdentityLimit)
        #expect(a.streams(of: F.west) == 2)
        #expect(a.admit(peer: F.other, cluster: "west", stopping: false) == nil)
        #expect(a.open == 3)
        #expect(a.admit(peer: Self.eastGateway, cluster: "east", stopping: false) == .limit)
        a.release(peer: F.west)
        #expect(a.open == 2 && a.streams(of: F.west) == 1)
        #expect(a.admit(peer: Self.eastGateway, cluster: "east", stopping: true) == .stopping)
        #expect(a.admit(peer: Self.eastGateway, cluster: "west", stopping: true) == .clusterMismatch, "the policy first")
        #expect(a.admit(peer: Self.eastGateway, cluster: "east", stopping: false) == nil)
        #expect(a.explanation(.perIdentityLimit, peer: F.west).contains("inbound.discover.perIdentity"))
        #expect(a.explanation(.limit, peer: F.west) == "3 streams are open")
    }
}
