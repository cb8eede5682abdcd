import Testing

@testable import MeshgateControl
import MeshgateProxy

/// `cpuAffinity:` in the gateway config: `auto` or `off` (the default), errors naming field and line.
@Suite struct CPUAffinityConfigTests {
    @Test(arguments: [("cpuAffinity: auto\n", CPUAffinity.auto), ("cpuAffinity: off\n", .off), ("", .off)])
    func readsTheSetting(line: String, expected: CPUAffinity) throws {
        let config = try GatewayConfig.parse(yaml: minimalGateway(line), fileName: "gateway.yaml")
        #expect(config.cpuAffinity == expected)
    }

    @Test func aBadValueNamesFieldAndLine() {
        #expect(gatewayErrors(minimalGateway("loops: 2\ncpuAffinity: on\n")) == ["gateway.yaml:7: cpuAffinity: 'on' is not one of off, auto"])
    }

    @Test func changingItNeedsARestart() throws {
        let off = try GatewayConfig.parse(yaml: minimalGateway(), fileName: "gateway.yaml")
        let auto = try GatewayConfig.parse(yaml: minimalGateway("cpuAffinity: auto\n"), fileName: "gateway.yaml")
        #expect(GatewayController.needsRestart(off, auto) == ["cpuAffinity"])
    }
}
