import MeshgateProxy
import Testing

@testable import MeshgateControl

/// `inbound.acceptWorkloads` and `inbound.discover` in gateway.yaml.
@Suite struct GatewayConfigInboundTests {
    static let base = """
        cluster: west
        identity: {cert: tls.crt, key: tls.key, trust: ca.crt}

        """

    @Test("defaults: gateways only, discover by gateways, 4 streams per identity")
    func defaults() throws {
        let c = try GatewayConfig.parse(yaml: Self.base)
        #expect(c.inbound.policy == InboundPolicy(acceptWorkloads: false, discover: DiscoverPolicy(allow: .gateways, perIdentity: 4)))
    }

    @Test("acceptWorkloads and discover are read")
    func explicit() throws {
        let c = try GatewayConfig.parse(yaml: Self.base + "inbound:\n  acceptWorkloads: true\n  discover: {allow: any, perIdentity: 2}\n")
        #expect(c.inbound.policy.acceptWorkloads)
        #expect(c.inbound.policy.discover == DiscoverPolicy(allow: .any, perIdentity: 2))
    }

    @Test("bad values are file:line: field: errors")
    func errors() {
        let yaml = Self.base + "inbound:\n  acceptWorkloads: maybe\n  discover: {allow: workloads, perIdentity: 0, max: 3}\n"
        do {
            _ = try GatewayConfig.parse(yaml: yaml)
            Issue.record("accepted")
        } catch {
            let text = error.errors.map(\.description).joined(separator: "\n")
            #expect(text.contains("gateway.yaml:4: inbound.acceptWorkloads:"), "\(text)")
            #expect(text.contains("inbound.discover.allow: 'workloads' is not one of gateways, any"), "\(text)")
            #expect(text.contains("inbound.discover.perIdentity:"), "\(text)")
            #expect(text.contains("inbound.discover.max: unknown key"), "\(text)")
        }
    }
}
