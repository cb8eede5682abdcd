import Testing

@testable import MeshgateControl

@Suite struct RegistryTests {
    static let good = """
        services:
          - namespace: default
            name: redis
            ports: [6379]
            endpoints: ["127.0.0.1:16379", "10.0.0.7:6379", "redis-0.internal:16379"]
            exported: true
            allow:
              - spiffe://cluster.local/ns/meshgate-east/sa/gateway
              - gateway.meshgate-north.serviceaccount.identity.cluster.local
          - namespace: payments
            name: billing
            ports:
              - {port: 8080, targetPort: 18080}
              - port: 9090
            endpoints: [10.0.0.9:18080, 10.0.0.9:9090]
        """

    @Test func parsesServicesWithDefaults() throws {
        let yaml = Self.good.replacingOccurrences(of: "[6379]", with: "[{port: 6379, targetPort: 16379}, 6380]")
            .replacingOccurrences(of: "10.0.0.7:6379", with: "10.0.0.7:6380")
        let registry = try Registry.parse(yaml: yaml, fileName: "registry.yaml")
        #expect(registry.services.count == 2)
        let redis = try #require(registry.service(namespace: "default", name: "redis"))
        #expect(redis.ports == [ServicePort(port: 6379, targetPort: 16379), ServicePort(port: 6380)])
        #expect(redis.exported)
        #expect(redis.line == 2)
        #expect(
            redis.allow == [
                "spiffe://cluster.local/ns/meshgate-east/sa/gateway", "spiffe://cluster.local/ns/meshgate-north/sa/gateway",
            ])
        let billing = try #require(registry.service(namespace: "payments", name: "billing"))
        #expect(billing.exported == false)
        #expect(billing.allow == nil)
        #expect(billing.ports == [ServicePort(port: 8080, targetPort: 18080), ServicePort(port: 9090, targetPort: 9090)])
        #expect(registry.exportedServices.map(\.name) == ["redis"])
        #expect(registry.service(namespace: "default", name: "billing") == nil)
    }

    @Test func endpointsFollowTheTargetPort() throws {
        let yaml = Self.good.replacingOccurrences(of: "[6379]", with: "[{port: 6379, targetPort: 16379}, 6380]")
            .replacingOccurrences(of: "10.0.0.7:6379", with: "10.0.0.7:6380")
        let registry = try Registry.parse(yaml: yaml)
        #expect(
            registry.endpoints(namespace: "default", name: "redis", port: 6379) == [
                HostPort(host: "127.0.0.1", port: 16379), HostPort(host: "redis-0.internal", port: 16379),
            ])
        #expect(registry.endpoints(namespace: "default", name: "redis", port: 6380) == [HostPort(host: "10.0.0.7", port: 6380)])
        #expect(registry.endpoints(namespace: "default", name: "redis", port: 16379) == nil, "not a service port")
        #expect(registry.endpoints(namespace: "default", name: "nope", port: 6379) == nil)
        #expect(registry.endpoints(namespace: "payments", name: "billing", port: 8080) == [HostPort(host: "10.0.0.9", port: 18080)])
    }

    @Test func allowListAcceptsEitherForm() throws {
        let registry = try Registry.parse(
            yaml: Self.good.replacingOccurrences(of: "10.0.0.7:6379", with: "10.0.0.7:16379")
                .replacingOccurrences(of: "[6379]", with: "[{port: 6379, targetPort: 16379}]"))
        let redis = try #require(registry.service(namespace: "default", name: "redis"))
        #expect(redis.allows(identity: "gateway.meshgate-east.serviceaccount.identity.cluster.local"))
        #expect(redis.allows(identity: "spiffe://cluster.local/ns/meshgate-north/sa/gateway"))
        #expect(!redis.allows(identity: "spiffe://cluster.local/ns/meshgate-south/sa/gateway"))
        #expect(!redis.allows(identity: "garbage"))
        let billing = try #require(registry.service(namespace: "payments", name: "billing"))
        #expect(billing.allows(identity: "spiffe://cluster.local/ns/anything/sa/x"), "no allow list: any vouched identity")
    }

    @Test func endpointOnNoTargetPortIsAnError() {
        // Port 6379 with targetPort 6379: the endpoints on 16379 would never be used.
        #expect(
            registryErrors(Self.good) == [
                "registry.yaml:5: services[0].endpoints[0]: endpoint 127.0.0.1:16379: port 16379 is no target port of the service (6379), so it would never be used",
                "registry.yaml:5: services[0].endpoints[2]: endpoint redis-0.internal:16379: port 16379 is no target port of the service (6379), so it would never be used",
            ])
    }

    @Test func validationErrorsAreAllReported() {
        let yaml = """
            services:
              - namespace: Default
                name: redis
                ports: [6379, 6379, 0]
                endpoints: ["10.0.0.1:6379", "10.0.0.1:6379", "10.0.0.2"]
                exported: maybe
                allow: [spiffe://nope]
              - namespace: default
                name: pg
                ports: []
                prots: [1]
              - namespace: default
                name: pg
                ports: [{port: 5432, target: 1}]
              - {namespace: default, name: x, ports: [1], allow: }
              - just-a-string
            """
        #expect(
            registryErrors(yaml) == [
                "registry.yaml:2: services[0].namespace: 'Default' is not a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit)",
                "registry.yaml:4: services[0].ports[1]: port 6379 is listed twice",
                "registry.yaml:4: services[0].ports[2]: port 0 out of range",
                "registry.yaml:5: services[0].endpoints[1]: endpoint 10.0.0.1:6379 is listed twice",
                "registry.yaml:5: services[0].endpoints[2]: '10.0.0.2' has no port (expected host:port)",
                "registry.yaml:6: services[0].exported: expected true or false, found 'maybe'",
                "registry.yaml:7: services[0].allow[0]: 'spiffe://nope' is not a workload identity (expected spiffe://<trust-domain>/ns/<namespace>/sa/<account> or <account>.<namespace>.serviceaccount.identity.<trust-domain>)",
                "registry.yaml:10: services[1].ports: needs at least one port",
                "registry.yaml:11: services[1].prots: unknown key (did you mean ports?)",
                "registry.yaml:14: services[2].ports[0].target: unknown key (did you mean targetPort?)",
                "registry.yaml:15: services[3].allow: empty value: list the allowed identities ([] allows none), or leave allow out to allow any",
                "registry.yaml:16: services[4]: expected a mapping, found 'just-a-string'",
            ])
    }

    @Test func duplicateServicesAreReported() {
        let yaml = """
            services:
              - {namespace: default, name: redis, ports: [1]}
              - {namespace: other, name: redis, ports: [1]}
              - {namespace: default, name: redis, ports: [2]}
            """
        #expect(registryErrors(yaml) == ["registry.yaml:4: services[2]: duplicate service default/redis (first defined at line 2)"])
    }

    @Test func emptyAndMissingServices() throws {
        #expect(registryErrors("") == ["registry.yaml:1: the file is empty"])
        #expect(
            registryErrors("servises: []\n") == [
                "registry.yaml:1: servises: unknown key (did you mean services?)",
                "registry.yaml:1: services: missing required key",
            ])
        #expect(try Registry.parse(yaml: "services: []\n").services.isEmpty)
        let noEndpoints = try Registry.parse(yaml: "services: [{namespace: a, name: b, ports: [1], allow: []}]\n")
        #expect(noEndpoints.endpoints(namespace: "a", name: "b", port: 1) == [])
        #expect(noEndpoints.service(namespace: "a", name: "b")?.allows(identity: "spiffe://td/ns/a/sa/b") == false)
    }
}
