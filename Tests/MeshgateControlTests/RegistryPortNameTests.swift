import MeshgateWire
import Testing

@testable import MeshgateControl

/// Port names in the registry file: parsed, checked (file:line), and carried to the data plane.
@Suite struct RegistryPortNameTests {
    /// A registry of one service, cache/redis, whose first port is 6379 named redis; `more`
    /// follows that port line (further ports, then the service's other keys).
    static func redisRegistry(_ more: String) -> String {
        """
        services:
          - namespace: cache
            name: redis
            ports:
              - {port: 6379, name: redis}

        """ + more
    }

    @Test func namesAreParsed() throws {
        let yaml = Self.redisRegistry(
            """
                  - {port: 9121, targetPort: 19121, name: metrics}
                  - 26379
                  - port: 7000
                    name: grpc-web
                endpoints: ["10.0.0.7:6379", "10.0.0.7:19121", "10.0.0.7:26379", "10.0.0.7:7000"]
                exported: true
            """)
        let registry = try Registry.parse(yaml: yaml, fileName: "registry.yaml")
        let redis = try #require(registry.service(namespace: "cache", name: "redis"))
        #expect(
            redis.ports == [
                ServicePort(port: 6379, name: "redis"), ServicePort(port: 9121, targetPort: 19121, name: "metrics"),
                ServicePort(port: 26379), ServicePort(port: 7000, name: "grpc-web"),
            ])
        #expect(redis.ports[2].name == nil)
        // The source-compatible initializer leaves the name out.
        #expect(ServicePort(port: 80, targetPort: 8080).name == nil)
    }

    @Test func badAndRepeatedNamesAreReportedAtTheirLine() {
        let yaml = Self.redisRegistry(
            """
                  - {port: 6380, name: Redis}
                  - {port: 6381, name: redis}
                  - port: 6382
                    name: a--b
                  - {port: 6383, name: "8080"}
                  - {port: 6384, name: much-too-long-name}
                  - {port: 6385, name: 80}
                  - port: 6386
                    name:
            """)
        #expect(
            registryErrors(yaml) == [
                "registry.yaml:6: services[0].ports[1].name: 'Redis' is not a port name: may hold only lowercase letters, digits and '-' (an IANA service name: 1-15 of [a-z0-9-], a letter)",
                "registry.yaml:7: services[0].ports[2]: port name 'redis' is already used by port 6379",
                "registry.yaml:9: services[0].ports[3].name: 'a--b' is not a port name: may not contain '--' (an IANA service name: 1-15 of [a-z0-9-], a letter)",
                "registry.yaml:10: services[0].ports[4].name: '8080' is not a port name: needs at least one letter (an IANA service name: 1-15 of [a-z0-9-], a letter)",
                "registry.yaml:11: services[0].ports[5].name: 'much-too-long-name' is not a port name: is longer than 15 characters (an IANA service name: 1-15 of [a-z0-9-], a letter)",
                "registry.yaml:12: services[0].ports[6].name: '80' is not a port name: needs at least one letter (an IANA service name: 1-15 of [a-z0-9-], a letter)",
                "registry.yaml:14: services[0].ports[7].name: empty value: write a port name, or leave name out",
            ])
    }

    @Test func tablesCarryNamesToTheDataPlane() {
        let service = RegisteredService(
            namespace: "cache", name: "redis",
            ports: [ServicePort(port: 6379, name: "redis"), ServicePort(port: 9121, targetPort: 19121)],
            endpoints: [HostPort(host: "127.0.0.1", port: 6379)], exported: true)
        var problems: [String] = []
        let exported = GatewayTables.service(service) { problems.append($0) }
        #expect(problems.isEmpty)
        #expect(exported.portNames == [6379: "redis"])
        #expect(exported.endpoints.keys.sorted() == [6379, 9121])
    }
}
