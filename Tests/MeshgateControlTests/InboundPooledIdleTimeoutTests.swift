import Testing

@testable import MeshgateControl

/// `inbound.pooledIdleTimeout`: how long a peer's warm-pool connection may wait for its header
/// (default 2 min, more than zero).
@Suite struct InboundPooledIdleTimeoutTests {
    @Test("default 120s, also with an inbound section that leaves it out")
    func defaults() throws {
        #expect(try GatewayConfig.parse(yaml: minimalGateway()).inbound.pooledIdleTimeout == .seconds(120))
        let other = try GatewayConfig.parse(yaml: minimalGateway("inbound:\n  headerTimeout: 2s\n"))
        #expect(other.inbound.pooledIdleTimeout == .seconds(120))
        #expect(GatewayDefaults.pooledIdleTimeout == .seconds(120))
        #expect(InboundSettings().pooledIdleTimeout == .seconds(120))
    }

    @Test("a written value is read, apart from headerTimeout")
    func written() throws {
        let c = try GatewayConfig.parse(yaml: minimalGateway("inbound:\n  pooledIdleTimeout: 5m\n  headerTimeout: 3s\n"))
        #expect(c.inbound.pooledIdleTimeout == .seconds(300))
        #expect(c.inbound.headerTimeout == .seconds(3))
    }

    @Test("zero, no unit and a misspelt key are errors naming the field and line")
    func errors() {
        #expect(
            gatewayErrors(minimalGateway("inbound:\n  pooledIdleTimeout: 0s\n")) == [
                "gateway.yaml:7: inbound.pooledIdleTimeout: must be more than zero"
            ])
        #expect(
            gatewayErrors(minimalGateway("inbound:\n  pooledIdleTimeout: 90\n")) == [
                "gateway.yaml:7: inbound.pooledIdleTimeout: '90' has no unit (use a number and a unit: 500ms, 5s, 10m, 1h, 1d)"
            ])
        #expect(
            gatewayErrors(minimalGateway("inbound:\n  pooledIdleTimout: 90s\n")) == [
                "gateway.yaml:7: inbound.pooledIdleTimout: unknown key (did you mean pooledIdleTimeout?)"
            ])
    }
}
