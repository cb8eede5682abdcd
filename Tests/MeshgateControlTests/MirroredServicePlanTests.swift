import MeshgateKube
import MeshgateWire
import Testing

@testable import MeshgateControl

/// Mirrored routes → desired `<svc>-<cluster>` Services.
@Suite struct MirroredServicePlanTests {
    static let identity = "spiffe://mesh.local/ns/meshgate-west/sa/gateway"
    static let selector = ["app": "meshgate-gateway"]

    static func route(_ ns: String, _ svc: String, _ port: UInt16, cluster: String = "west", listen: UInt16?) -> MirroredServiceRoute {
        MirroredServiceRoute(
            key: "\(ns)/\(MirroredRouteName.of(service: svc, cluster: cluster)):\(port)", cluster: cluster,
            target: ConnectTarget(namespace: ns, name: svc, port: port), identity: identity, listenerPort: listen)
    }

    @Test func oneRouteBecomesAClusterIPServiceSelectingTheGateways() throws {
        let plan = MirroredServicePlan.build(
            routes: [Self.route("default", "redis", 6379, listen: 4203)],
            remote: ["west": ["default/redis": DiscoveredService(namespace: "default", name: "redis", ports: [6379])]],
            gatewaySelector: Self.selector)
        let s = try #require(plan.services["default/redis-west"])
        #expect(s.metadata.name == "redis-west")
        #expect(s.metadata.namespace == "default")
        #expect(s.spec.type == "ClusterIP")
        #expect(s.spec.selector == Self.selector)
        #expect(s.spec.ports == [KubeService.Port(name: nil, port: 6379, targetPort: .int(4203), protocol: "TCP")])
        #expect(
            s.metadata.labels == [
                "mirror.linkerd.io/mirrored-service": "true", "mirror.linkerd.io/cluster-name": "west",
                "app.kubernetes.io/managed-by": "meshgate",
            ])
        #expect(s.metadata.annotations?["mirror.linkerd.io/remote-gateway-identity"] == Self.identity)
        #expect(s.metadata.annotations?["mirror.linkerd.io/remote-svc-fq-name"] == "redis.default.svc.cluster.local")
        #expect(s.metadata.annotations?["meshgate.io/remote-service"] == "default/redis")
        #expect(s.spec.clusterIP == nil)
        #expect(plan.waiting.isEmpty)
    }

    @Test func remotePortNamesAndOrderAreKeptUnnamedPortsGetPortN() throws {
        let remote = DiscoveredService(namespace: "shop", name: "web", ports: [8443, 80, 9090], portNames: ["https", "", "metrics"])
        let plan = MirroredServicePlan.build(
            routes: [
                Self.route("shop", "web", 80, listen: 4100), Self.route("shop", "web", 9090, listen: 4102),
                Self.route("shop", "web", 8443, listen: 4101),
            ], remote: ["west": ["shop/web": remote]], gatewaySelector: Self.selector)
        let s = try #require(plan.services["shop/web-west"])
        #expect(s.spec.ports?.map(\.name) == ["https", "port-80", "metrics"])
        #expect(s.spec.ports?.map(\.port) == [8443, 80, 9090])
        #expect(s.spec.ports?.map(\.targetPort) == [.int(4101), .int(4100), .int(4102)])
    }

    @Test func unknownRemoteServiceWithTwoPortsNamesThemByNumberInPortOrder() throws {
        let plan = MirroredServicePlan.build(
            routes: [Self.route("default", "db", 5433, listen: 4001), Self.route("default", "db", 5432, listen: 4000)],
            remote: [:], gatewaySelector: Self.selector)
        let s = try #require(plan.services["default/db-west"])
        #expect(s.spec.ports?.map(\.name) == ["port-5432", "port-5433"])
    }

    @Test func routesWithoutListenerAreLeftOutAndAServiceWithNoneWaits() throws {
        let plan = MirroredServicePlan.build(
            routes: [
                Self.route("default", "a", 80, listen: 4000), Self.route("default", "a", 81, listen: nil),
                Self.route("default", "b", 80, listen: nil),
            ], remote: [:], gatewaySelector: Self.selector)
        let a = try #require(plan.services["default/a-west"])
        #expect(a.spec.ports?.map(\.port) == [80])
        #expect(a.spec.ports?.first?.name == "port-80")  // the service has two ports: names stay stable
        #expect(plan.services["default/b-west"] == nil)
        #expect(plan.waiting == ["default/b-west"])
    }

    @Test func longNamesUseTheShortenedMirroredName() throws {
        let svc = "a-very-long-service-name-that-goes-on-and-on-for-ever-and-ever"
        let plan = MirroredServicePlan.build(
            routes: [Self.route("default", svc, 80, listen: 4000)], remote: [:], gatewaySelector: Self.selector)
        let s = try #require(plan.services.values.first)
        #expect(s.metadata.name == "a-very-long-service-name-that-goes-on-and-on-for-ever-8f724b07")
        #expect(s.metadata.annotations?["meshgate.io/remote-service"] == "default/\(svc)")
    }
}
