import MeshgateKube
import Testing

@testable import MeshgateControl

/// `KubernetesRegistry.build`: Services + EndpointSlices + ServiceExports → the registry.
@Suite struct KubernetesRegistryTests {
    static let settings = KubernetesRegistrySettings(api: KubernetesAPISettings(source: .inCluster))
    static let exported = ["mirror.linkerd.io/exported": "true"]

    static func service(
        _ name: String, ns: String = "default", labels: [String: String]? = exported, annotations: [String: String]? = nil,
        type: String? = nil, clusterIP: String? = nil, ports: [KubeService.Port]
    ) -> KubeService {
        KubeService(
            metadata: KubeObjectMeta(name: name, namespace: ns, labels: labels, annotations: annotations),
            spec: KubeService.Spec(type: type, ports: ports, clusterIP: clusterIP))
    }

    static func slice(
        _ name: String, for service: String, ns: String = "default", addressType: String = "IPv4",
        ports: [KubeEndpointSlice.Port], endpoints: [(String, Bool?)]
    ) -> KubeEndpointSlice {
        KubeEndpointSlice(
            metadata: KubeObjectMeta(name: name, namespace: ns, labels: [KubernetesRegistry.serviceNameLabel: service]),
            addressType: addressType,
            endpoints: endpoints.map { .init(addresses: [$0.0], conditions: .init(ready: $0.1)) }, ports: ports)
    }

    static func build(
        _ services: [KubeService], _ slices: [KubeEndpointSlice] = [], exports: [KubeServiceExport] = [],
        settings: KubernetesRegistrySettings = settings
    ) -> (registry: Registry, skipped: [KubernetesRegistry.Skipped]) {
        KubernetesRegistry.build(services: services, slices: slices, exports: exports, settings: settings)
    }

    @Test func aLabelledServiceWithItsReadyEndpoints() throws {
        let r = Self.build(
            [Self.service("redis", ports: [.init(name: "redis", port: 6379, targetPort: .string("resp"))])],
            [
                Self.slice(
                    "redis-a", for: "redis", ports: [.init(name: "redis", port: 7000)],
                    endpoints: [("10.0.0.2", true), ("10.0.0.3", nil), ("10.0.0.4", false)])
            ])
        let s = try #require(r.registry.service(namespace: "default", name: "redis"))
        #expect(s.exported && s.allow == nil && r.skipped.isEmpty)
        #expect(s.ports == [ServicePort(port: 6379, targetPort: 7000, name: "redis")])
        #expect(s.endpoints(port: 6379) == [HostPort(host: "10.0.0.2", port: 7000), HostPort(host: "10.0.0.3", port: 7000)])
    }

    @Test func unlabelledServicesAndOtherSlicesStayOut() {
        let r = Self.build(
            [
                Self.service("web", labels: ["app": "web"], ports: [.init(port: 80)]),
                Self.service("db", labels: nil, ports: [.init(port: 5432)]),
            ],
            [Self.slice("web-a", for: "web", ports: [.init(port: 80)], endpoints: [("10.0.0.9", true)])])
        #expect(r.registry.services.isEmpty && r.skipped.isEmpty)
    }

    @Test func aServiceExportExportsUnlessDisabled() {
        let export = KubeServiceExport(metadata: KubeObjectMeta(name: "db", namespace: "shop"))
        let db = Self.service("db", ns: "shop", labels: nil, ports: [.init(port: 5432)])
        #expect(Self.build([db], exports: [export]).registry.service(namespace: "shop", name: "db") != nil)
        let off = KubernetesRegistrySettings(api: KubernetesAPISettings(source: .inCluster), serviceExports: false)
        #expect(Self.build([db], exports: [export], settings: off).registry.services.isEmpty)
        // Same name, other namespace: not this Service's export.
        let elsewhere = KubeServiceExport(metadata: KubeObjectMeta(name: "db", namespace: "default"))
        #expect(Self.build([db], exports: [elsewhere]).registry.services.isEmpty)
    }

    @Test func numberedAndNamedTargetPortsResolveThroughTheSlicePortNames() throws {
        let r = Self.build(
            [
                Self.service(
                    "api", ports: [.init(name: "http", port: 80, targetPort: .int(8080)), .init(name: "grpc", port: 9090, targetPort: .string("g"))])
            ],
            [
                Self.slice(
                    "api-a", for: "api", ports: [.init(name: "http", port: 8080), .init(name: "grpc", port: 9443)],
                    endpoints: [("10.1.0.1", true)])
            ])
        let s = try #require(r.registry.service(namespace: "default", name: "api"))
        #expect(s.endpoints(port: 80) == [HostPort(host: "10.1.0.1", port: 8080)])
        #expect(s.endpoints(port: 9090) == [HostPort(host: "10.1.0.1", port: 9443)])
    }

    @Test func unnamedPortsMatchAndNoSliceMeansNoEndpoints() throws {
        let unnamed = Self.build(
            [Self.service("a", ports: [.init(port: 80, targetPort: .int(8080))])],
            [Self.slice("a-1", for: "a", ports: [.init(name: "", port: 8080)], endpoints: [("10.2.0.1", true)])])
        #expect(unnamed.registry.service(namespace: "default", name: "a")?.endpoints(port: 80) == [HostPort(host: "10.2.0.1", port: 8080)])
        let none = Self.build([Self.service("a", ports: [.init(port: 80, targetPort: .int(8080))])])
        let s = try #require(none.registry.service(namespace: "default", name: "a"))
        #expect(s.targetPort(for: 80) == 8080 && s.endpoints(port: 80) == [])
    }

    @Test func headlessAndIPv6WorkExternalNameAndUDPOnlyAreLeftOutWithAReason() throws {
        let r = Self.build(
            [
                Self.service("headless", clusterIP: "None", ports: [.init(port: 5000)]),
                Self.service("ext", type: "ExternalName", ports: [.init(port: 443)]),
                Self.service("dns", ports: [.init(port: 53, protocol: "UDP")]),
            ],
            [Self.slice("h-1", for: "headless", addressType: "IPv6", ports: [.init(port: 5000)], endpoints: [("fd00::1", true)])])
        let s = try #require(r.registry.service(namespace: "default", name: "headless"))
        #expect(s.endpoints(port: 5000) == [HostPort(host: "fd00::1", port: 5000)])
        #expect(r.skipped.map(\.name).sorted() == ["dns", "ext"])
        #expect(r.skipped.first { $0.name == "ext" }?.reason.contains("ExternalName") == true)
    }

    @Test func theAllowAnnotationIsNormalisedAndABadIdRefusesOnlyThatService() throws {
        let r = Self.build([
            Self.service(
                "ok", annotations: ["meshgate.io/allow": " spiffe://cluster.local/ns/a/sa/b , c.d.serviceaccount.identity.e.cluster.local,"],
                ports: [.init(port: 1)]),
            Self.service("bad", annotations: ["meshgate.io/allow": "spiffe://cluster.local/ns/a/sa/b,not an id"], ports: [.init(port: 1)]),
            Self.service("empty", annotations: ["meshgate.io/allow": " "], ports: [.init(port: 1)]),
        ])
        let ok = try #require(r.registry.service(namespace: "default", name: "ok"))
        #expect(ok.allow?.first == "spiffe://cluster.local/ns/a/sa/b")
        #expect(ok.allow?.count == 2 && ok.allow?.allSatisfy { $0.hasPrefix("spiffe://") } == true)
        #expect(r.registry.services.map(\.name) == ["ok"])
        #expect(Set(r.skipped.map(\.name)) == ["bad", "empty"])
        #expect(r.skipped.first { $0.name == "bad" }?.description.contains("annotation meshgate.io/allow: 'not an id'") == true)
    }

    @Test func slicesDisagreeingOnATargetNumberLetTheLargerSetWin() throws {
        let r = Self.build(
            [Self.service("web", ports: [.init(name: "http", port: 80, targetPort: .string("http"))])],
            [
                Self.slice("old", for: "web", ports: [.init(name: "http", port: 8080)], endpoints: [("10.0.0.1", true)]),
                Self.slice(
                    "new", for: "web", ports: [.init(name: "http", port: 8081)], endpoints: [("10.0.0.2", true), ("10.0.0.3", true)]),
            ])
        let s = try #require(r.registry.service(namespace: "default", name: "web"))
        #expect(s.targetPort(for: 80) == 8081 && s.endpoints(port: 80)?.map(\.host) == ["10.0.0.2", "10.0.0.3"])
    }

    @Test func servicesAreSortedAndEndpointsDeduplicated() {
        let r = Self.build(
            [Self.service("b", ports: [.init(port: 1)]), Self.service("a", ns: "z", ports: [.init(port: 1)]), Self.service("a", ports: [.init(port: 1)])],
            [
                Self.slice("b-1", for: "b", ports: [.init(port: 1)], endpoints: [("10.0.0.2", true), ("10.0.0.1", true)]),
                Self.slice("b-2", for: "b", ports: [.init(port: 1)], endpoints: [("10.0.0.1", true)]),
            ])
        #expect(r.registry.services.map { "\($0.namespace)/\($0.name)" } == ["default/a", "default/b", "z/a"])
        #expect(r.registry.service(namespace: "default", name: "b")?.endpoints.map(\.host) == ["10.0.0.1", "10.0.0.2"])
    }
}
