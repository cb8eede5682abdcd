import Foundation
import MeshgateLoop
import MeshgateNames
import MeshgateProxy
import MeshgateTLS
import MeshgateWire
import Testing

@testable import MeshgateControl

/// `MirroredRoutes.routes`: one route per mirrored service port, named `ns/<name>-<cluster>:port`,
/// aimed at `ns/name:port` behind the link's live gateways; taken names refused; a down link
/// gives routes that are not alive and have no gateways.
@Suite struct MirroredRoutesTests {
    static let identity = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-west/sa/gateway")!
    static let g1 = try! SocketAddress.resolve("127.0.0.1:4143")
    static let g2 = try! SocketAddress.resolve("127.0.0.2:4143")

    static func state(_ services: [DiscoveredService], alive: Bool = true, gateways: [SocketAddress] = [g1, g2]) -> MirrorState {
        var s = MirrorState()
        for service in services { s.services["\(service.namespace)/\(service.name)"] = service }
        s.synced = true
        s.alive = alive
        s.liveGateways = gateways
        return s
    }

    static func routes(
        _ state: MirrorState, cluster: String = "west", requireClientTLS: Bool = false, taken: inout Set<String>
    ) -> (routes: [GatewayRoute], refused: [String]) {
        var refused: [String] = []
        let routes = MirroredRoutes.routes(
            cluster: cluster, identity: identity, state: state, requireClientTLS: requireClientTLS, taken: &taken,
            refused: { refused.append($0) })
        return (routes, refused)
    }

    @Test("one route per port: key ns/name-cluster:port, target ns/name:port, the live gateways, the bundle identity")
    func oneRoutePerPort() {
        let redis = DiscoveredService(namespace: "cache", name: "redis", ports: [6379, 26379])
        let web = DiscoveredService(namespace: "default", name: "web", ports: [443])
        var taken: Set<String> = []
        let (routes, refused) = Self.routes(Self.state([web, redis]), taken: &taken)
        #expect(refused.isEmpty, "\(refused)")
        #expect(routes.map(\.key) == ["cache/redis-west:6379", "cache/redis-west:26379", "default/web-west:443"])
        #expect(routes.map(\.target) == [
            ConnectTarget(namespace: "cache", name: "redis", port: 6379),
            ConnectTarget(namespace: "cache", name: "redis", port: 26379),
            ConnectTarget(namespace: "default", name: "web", port: 443),
        ])
        for r in routes {
            #expect(r.cluster == "west")
            #expect(r.gateways == [Self.g1, Self.g2])
            #expect(r.expectedIdentity == Self.identity)
            #expect(r.alive)
            #expect(r.fixedListen == nil)
            #expect(r.requireClientTLS == false)
        }
        #expect(taken == ["cache/redis-west", "default/web-west"], "the mirror's names are added to taken")
    }

    @Test("requireClientTLS is passed on; a long name is shortened in the key but not in the target")
    func longNameAndClientTLS() {
        let name = "a-very-long-service-name-that-goes-on-and-on-for-ever-and-ever"
        let service = DiscoveredService(namespace: "default", name: name, ports: [8080])
        var taken: Set<String> = []
        let (routes, _) = Self.routes(Self.state([service]), requireClientTLS: true, taken: &taken)
        #expect(routes.count == 1)
        let short = MirroredRouteName.of(service: name, cluster: "west")
        #expect(short.count <= 63)
        #expect(routes.first?.key == "default/\(short):8080")
        #expect(routes.first?.target == ConnectTarget(namespace: "default", name: name, port: 8080))
        #expect(routes.first?.requireClientTLS == true)
    }

    @Test("a taken name is refused with a message; the other services are still mirrored")
    func takenNameRefused() {
        let redis = DiscoveredService(namespace: "default", name: "redis", ports: [6379])
        let web = DiscoveredService(namespace: "default", name: "web", ports: [80, 443])
        var taken: Set<String> = ["default/redis-west"]
        let (routes, refused) = Self.routes(Self.state([redis, web]), taken: &taken)
        #expect(routes.map(\.key) == ["default/web-west:80", "default/web-west:443"])
        #expect(refused.count == 1)
        let message = refused.first ?? ""
        #expect(message.contains("default/redis"), "\(message)")
        #expect(message.contains("default/redis-west"), "\(message)")
        #expect(message.contains("already taken"), "\(message)")
        #expect(message.contains("west"), "\(message)")
        #expect(taken == ["default/redis-west", "default/web-west"])

        // Another link mirroring the same name later (same taken set) is refused too; a name in
        // another namespace is not taken.
        let again = DiscoveredService(namespace: "default", name: "web", ports: [80])
        let elsewhere = DiscoveredService(namespace: "other", name: "web", ports: [80])
        let (second, refusedSecond) = Self.routes(Self.state([again, elsewhere]), taken: &taken)
        #expect(second.map(\.key) == ["other/web-west:80"])
        #expect(refusedSecond.count == 1)
        #expect(refusedSecond.first?.contains("default/web-west") == true, "\(refusedSecond)")
    }

    @Test("link down: routes are not alive and have no gateways")
    func linkDown() {
        let web = DiscoveredService(namespace: "default", name: "web", ports: [80, 443])
        var taken: Set<String> = []
        let (routes, _) = Self.routes(Self.state([web], alive: false), taken: &taken)
        #expect(routes.count == 2)
        for r in routes {
            #expect(r.alive == false)
            #expect(r.gateways.isEmpty)
            #expect(r.target.name == "web")
        }
        // Alive but no live gateway address: not alive either (a live route needs a gateway).
        var taken2: Set<String> = []
        let (noGateways, _) = Self.routes(Self.state([web], alive: true, gateways: []), taken: &taken2)
        #expect(noGateways.count == 2)
        #expect(noGateways.allSatisfy { !$0.alive && $0.gateways.isEmpty })
        // Back up: alive with the gateways.
        var taken3: Set<String> = []
        let (up, _) = Self.routes(Self.state([web], alive: true, gateways: [Self.g2]), taken: &taken3)
        #expect(up.allSatisfy { $0.alive && $0.gateways == [Self.g2] })
    }

    @Test("no services, no routes")
    func empty() {
        var taken: Set<String> = ["default/x-west"]
        let (routes, refused) = Self.routes(Self.state([]), taken: &taken)
        #expect(routes.isEmpty)
        #expect(refused.isEmpty)
        #expect(taken == ["default/x-west"])
    }
}
