import Testing

@testable import MeshgateControl

/// `identity.renew` in gateway.yaml.
@Suite struct IdentityRenewalConfigTests {
    func parse(_ identity: String) throws -> GatewayConfig {
        try GatewayConfig.parse(yaml: "cluster: west\nidentity:\n" + identity, fileName: "gateway.yaml", baseDirectory: "/etc/meshgate")
    }

    @Test func absentMeansNoRenewal() throws {
        #expect(try parse("  cert: tls.crt\n  key: tls.key\n  trust: ca.crt\n").identity.renew == nil)
    }

    @Test func defaultsAndPaths() throws {
        let c = try parse("  cert: tls.crt\n  key: tls.key\n  trust: ca.crt\n  renew: {issuer: issuer/}\n")
        #expect(
            c.identity.renew == IdentityRenewal(issuer: "/etc/meshgate/issuer", before: .seconds(8 * 3600), validity: .seconds(24 * 3600)))
        let d = try parse("  cert: tls.crt\n  key: tls.key\n  trust: ca.crt\n  renew: {issuer: /i, before: 100s, validity: 2m}\n")
        #expect(d.identity.renew == IdentityRenewal(issuer: "/i", before: .seconds(100), validity: .seconds(120)))
    }

    @Test func errorsNameTheField() {
        let base = "cluster: west\nidentity:\n  cert: tls.crt\n  key: tls.key\n  trust: ca.crt\n"
        #expect(gatewayErrors(base + "  renew: {before: 8h}\n") == ["gateway.yaml:6: identity.renew.issuer: missing required key"])
        #expect(
            gatewayErrors(base + "  renew:\n    issuer: i\n    before: 1d\n") == [
                "gateway.yaml:8: identity.renew.before: 1d is not less than the renewed leaf's validity 1d: every leaf would be due at once"
            ])
        #expect(
            gatewayErrors(base + "  renew: {issuer: i, befor: 1h}\n") == [
                "gateway.yaml:6: identity.renew.befor: unknown key (did you mean before?)"
            ])
        #expect(
            gatewayErrors(base + "  renew: {issuer: i, validity: 0s}\n") == [
                "gateway.yaml:6: identity.renew.validity: must be more than zero"
            ])
    }
}
