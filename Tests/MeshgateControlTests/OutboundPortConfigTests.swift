import Testing

@testable import MeshgateControl

/// `outbound.pin` and `outbound.portHoldOff` in gateway.yaml.
@Suite struct OutboundPortConfigTests {
    @Test("pins and the hold-off are read; defaults are no pins and 10 minutes")
    func readsPinsAndHoldOff() throws {
        let plain = try GatewayConfig.parse(yaml: minimalGateway())
        #expect(plain.outbound.pins.isEmpty)
        #expect(plain.outbound.portHoldOff == .seconds(600))
        let yaml = minimalGateway(
            """
            outbound:
              ports: 4200-4299
              portHoldOff: 90s
              pin: {"default/redis-west:6379": 4300, default/web-north:80: 4210}
            """)
        let config = try GatewayConfig.parse(yaml: yaml)
        #expect(config.outbound.pins == ["default/redis-west:6379": 4300, "default/web-north:80": 4210])
        #expect(config.outbound.portHoldOff == .seconds(90))
        let off = try GatewayConfig.parse(yaml: minimalGateway("outbound: {portHoldOff: 0s}"))
        #expect(off.outbound.portHoldOff == .zero)
    }

    @Test("a bad pin names the field and its line")
    func badPins() {
        let yaml = minimalGateway(
            """
            outbound:
              pin:
                redis-west: 4300
                "default/web-north:80": 0
                "default/a:1": 4300
                "default/b:2": 4300
                "Default/c:3": 4301
              portHoldOff: soon
            """)
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:8: outbound.pin.redis-west: 'redis-west' is not a route key (expected a route key namespace/name:port, e.g. default/redis-west:6379)",
                "gateway.yaml:9: outbound.pin.default/web-north:80: port 0 out of range",
                "gateway.yaml:11: outbound.pin.default/b:2: port 4300 is already pinned to default/a:1 (line 10)",
                "gateway.yaml:12: outbound.pin.Default/c:3: 'Default/c:3' is not a route key: 'Default' is not a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit) (expected a route key namespace/name:port, e.g. default/redis-west:6379)",
                "gateway.yaml:13: outbound.portHoldOff: 'soon' is not a duration (use a number and a unit: 500ms, 5s, 10m, 1h, 1d)",
            ])
        #expect(
            gatewayErrors(minimalGateway("outbound: {pin: [4300]}")) == [
                "gateway.yaml:6: outbound.pin: expected a mapping of route key (namespace/name:port) to port, found a list"
            ])
    }

    @Test("a pin on the admin port, or for a route that has its own listen, is refused")
    func pinConflicts() {
        let yaml = minimalGateway(
            """
            outbound:
              pin: {"default/a:1": 4191}
            routes:
              - {name: redis, namespace: default, port: 6379, cluster: east, gateways: [10.0.0.2:4143], listen: 127.0.0.1:7000}
            """)
        let errors = gatewayErrors(
            yaml.replacingOccurrences(of: "{\"default/a:1\": 4191}", with: "{\"default/a:1\": 4191, \"default/redis:6379\": 4400}"))
        #expect(
            errors.contains {
                $0.hasPrefix("gateway.yaml:7: outbound.pin.default/a:1: address 127.0.0.1:4191 conflicts with admin.listen")
            }, "\(errors)")
        #expect(
            errors.contains {
                $0.hasPrefix("gateway.yaml:7: outbound.pin.default/redis:6379: route default/redis:6379 has a fixed listen address")
            }, "\(errors)")
    }
}

/// How routes without a listener are logged: one line per reason, not one per route.
@Suite struct NoListenerLogTests {
    @Test("974 routes failing for one reason are one group; other reasons are their own")
    func grouped() {
        var failed: [String: String] = [:]
        for i in 0..<974 { failed["default/p\(i)-evil:\(i)"] = "no free port in 4200-4999 on 127.0.0.1" }
        failed["default/web:80"] = "cannot listen on 127.0.0.1:80: bind: permission denied"
        let groups = GatewayController.groupedFailures(failed)
        #expect(groups.count == 2)
        #expect(groups.first { $0.reason.hasPrefix("no free port") }?.keys.count == 974)
        #expect(groups.first { $0.reason.hasPrefix("cannot listen") }?.keys == ["default/web:80"])
    }
}
