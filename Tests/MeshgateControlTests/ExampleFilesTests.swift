import Foundation
import Testing

@testable import MeshgateControl

/// The commented examples in docs/examples must stay valid.
@Suite struct ExampleFilesTests {
    /// The repository's docs/examples folder, found from this file's path.
    static var examples: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/examples").path
    }

    @Test func gatewayExampleParses() throws {
        let config = try GatewayConfig.load(path: Self.examples + "/gateway.yaml")
        #expect(config.cluster == "west")
        #expect(config.identity.cert == Self.examples + "/identity/tls.crt")
        #expect(config.registry == Self.examples + "/registry.yaml")
        #expect(config.outbound.ports == PortRange(lower: 4200, upper: 4299))
        #expect(config.routes.count == 2)
        #expect(config.routes[0].gateways.count == 3)
        #expect(config.routes[0].gateways[2] == HostPort(host: "fd00::2", port: 4143))
        #expect(config.routes[1].identity.spiffeURI == "spiffe://cluster.local/ns/meshgate-east/sa/gateway")
    }

    @Test func registryExampleParses() throws {
        let config = try GatewayConfig.load(path: Self.examples + "/gateway.yaml")
        let registry = try Registry.load(path: try #require(config.registry))
        #expect(registry.services.map(\.name) == ["redis", "billing", "postgres"])
        #expect(registry.exportedServices.count == 2)
        #expect(registry.endpoints(namespace: "payments", name: "billing", port: 8080)?.count == 2)
        #expect(registry.endpoints(namespace: "payments", name: "billing", port: 9090) == [HostPort(host: "10.0.0.9", port: 9090)])
    }
}
