import MeshgateKube
import MeshgateWire
import Testing

@testable import MeshgateControl

/// The ports of the mirrored Services in the API → pins every replica adopts.
@Suite struct MirroredServicePortsTests {
    static let selector = ["app": "meshgate-gateway"]

    @Test func thePlansServicesGiveBackEachRoutesPortByItsKey() {
        let routes = [
            MirroredServicePlanTests.route("default", "redis", 6379, listen: 20910),
            MirroredServicePlanTests.route("shop", "web", 80, listen: 21000),
            MirroredServicePlanTests.route("shop", "web", 443, listen: 21001),
        ]
        let plan = MirroredServicePlan.build(routes: routes, remote: [:], gatewaySelector: Self.selector)
        let adopted = MirroredServicePorts.adopted(from: plan.services.values, range: 20000...29999)
        #expect(adopted == ["default/redis-west:6379": 20910, "shop/web-west:80": 21000, "shop/web-west:443": 21001])
        #expect(Set(adopted.keys) == Set(routes.map(\.key)))
    }

    @Test func foreignNamedOutOfRangeAndDuplicatePortsAreNotAdopted() {
        var foreign = KubeService(
            metadata: KubeObjectMeta(name: "db-west", namespace: "default", labels: ["mirror.linkerd.io/mirrored-service": "true"]),
            spec: .init(type: "ClusterIP", selector: Self.selector, ports: [.init(port: 5432, targetPort: .int(20001))]))
        let owned = { (name: String, ports: [KubeService.Port]) in
            KubeService(
                metadata: KubeObjectMeta(name: name, namespace: "default", labels: KubernetesNames.labels(cluster: "west")),
                spec: .init(type: "ClusterIP", selector: Self.selector, ports: ports))
        }
        let services = [
            foreign,
            owned("a-west", [.init(port: 1, targetPort: .int(20002)), .init(port: 2, targetPort: .string("named"))]),
            owned("b-west", [.init(port: 1, targetPort: .int(20002))]),  // same port as a-west's: a-west wins
            owned("c-west", [.init(port: 1, targetPort: .int(4000))]),  // outside the range
            owned("d-west", [.init(port: 1, targetPort: nil)]),
        ]
        #expect(MirroredServicePorts.adopted(from: services, range: 20000...29999) == ["default/a-west:1": 20002])
        foreign.metadata.labels?["app.kubernetes.io/managed-by"] = "meshgate"
        #expect(MirroredServicePorts.adopted(from: [foreign], range: 20000...29999) == ["default/db-west:5432": 20001])
    }

    @Test func aConfiguredPinWinsByKeyAndByPort() {
        let merged = MirroredServicePorts.merge(
            configured: ["default/redis-west:6379": 20500, "default/x:1": 20600],
            adopted: ["default/redis-west:6379": 20910, "default/cache-west:11211": 20500, "default/q-west:1": 20700])
        #expect(merged == ["default/redis-west:6379": 20500, "default/x:1": 20600, "default/q-west:1": 20700])
        #expect(MirroredServicePorts.merge(configured: ["k": 1], adopted: [:]) == ["k": 1])
    }
}
