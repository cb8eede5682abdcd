import Testing

@testable import MeshgateControl

@Suite struct GatewayConfigErrorTests {
    @Test func portOutOfRangeNamesFileLineAndField() {
        let yaml = minimalGateway(
            """
            inbound:
              headerTimeout: 5s
              listen: 0.0.0.0:99999
            """)
        #expect(gatewayErrors(yaml) == ["gateway.yaml:8: inbound.listen: port 99999 out of range"])
    }

    @Test func unknownKeysAreReportedEverywhereWithASuggestion() {
        let yaml = minimalGateway(
            """
            clutser: east
            inbound:
              lisen: 0.0.0.0:4143
            routes:
              - name: redis-east
                namespace: default
                port: 6379
                cluster: east
                gateways: [10.0.0.2:4143]
                tagret: {name: redis}
                colour: blue
            """)
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:6: clutser: unknown key (did you mean cluster?)",
                "gateway.yaml:8: inbound.lisen: unknown key (did you mean listen?)",
                "gateway.yaml:15: routes[0].tagret: unknown key (did you mean target?)",
                "gateway.yaml:16: routes[0].colour: unknown key",
            ])
    }

    @Test func unknownKeyInANestedTargetAndCaseMistakes() {
        let yaml = minimalGateway(
            """
            trustdomain: cluster.local
            routes:
              - {name: a, namespace: default, port: 1, cluster: east, gateways: [gw:4143], target: {nmae: b}}
            """)
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:6: trustdomain: unknown key (did you mean trustDomain?)",
                "gateway.yaml:8: routes[0].target.nmae: unknown key (did you mean name?)",
            ])
    }

    @Test func missingRequiredKeysPointAtTheParentMapping() {
        let yaml = """
            trustDomain: cluster.local
            identity:
              cert: tls.crt
            routes:
              - name: redis
                namespace: default
            """
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:1: cluster: missing required key",
                "gateway.yaml:2: identity.key: missing required key",
                "gateway.yaml:2: identity.trust: missing required key",
                "gateway.yaml:5: routes[0].port: missing required key",
                "gateway.yaml:5: routes[0].cluster: missing required key",
                "gateway.yaml:5: routes[0].gateways: missing required key",
            ])
    }

    @Test func keyWithoutValueWhereOneIsRequired() {
        let yaml = minimalGateway().replacingOccurrences(of: "cluster: west", with: "cluster:")
        #expect(gatewayErrors(yaml) == ["gateway.yaml:1: cluster: a value is required"])
    }

    @Test func typeErrors() {
        let yaml = minimalGateway(
            """
            inbound: 4143
            outbound:
              requireClientTLS: yes
            limits:
              maxConnections: lots
            loops: "2"
            routes:
              name: redis
            identity2: x
            """)
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:6: inbound: expected a mapping, found '4143'",
                "gateway.yaml:8: outbound.requireClientTLS: expected true or false, found 'yes'",
                "gateway.yaml:10: limits.maxConnections: expected an integer, found 'lots'",
                "gateway.yaml:11: loops: expected an integer, found the string \"2\"",
                "gateway.yaml:12: routes: expected a list, found a mapping",
                "gateway.yaml:14: identity2: unknown key (did you mean identity?)",
            ])
    }

    @Test func valueErrors() {
        let yaml = """
            cluster: West_1
            trustDomain: cluster..local
            identity: {cert: a, key: "", trust: c}
            inbound:
              listen: gateway.local:4143
              headerTimeout: 5
              handshakeTimeout: 0s
            outbound:
              bind: 127.0.0.1:80
              ports: 4300-4200
            admin:
              listen: "::1:9990"
            limits:
              maxConnections: 0
              idleTimeout: 1w
            loops: 0
            ioBackend: kqueue
            ktls: on
            """
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:1: cluster: 'West_1' is not a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit)",
                "gateway.yaml:2: trustDomain: 'cluster..local' is not a DNS name (lowercase labels joined by dots)",
                "gateway.yaml:3: identity.key: must not be empty",
                "gateway.yaml:5: inbound.listen: 'gateway.local' is not an IP address (a listen address needs one; 0.0.0.0 or [::] for all)",
                "gateway.yaml:6: inbound.headerTimeout: '5' has no unit (use a number and a unit: 500ms, 5s, 10m, 1h, 1d)",
                "gateway.yaml:7: inbound.handshakeTimeout: must be more than zero",
                "gateway.yaml:9: outbound.bind: '127.0.0.1:80' has a port; write only the address (ports come from outbound.ports)",
                "gateway.yaml:10: outbound.ports: port range 4300-4200 is empty (4300 > 4200)",
                "gateway.yaml:12: admin.listen: '::1:9990': an IPv6 address needs brackets, e.g. [::1]:4143",
                "gateway.yaml:14: limits.maxConnections: maxConnections 0 out of range",
                "gateway.yaml:15: limits.idleTimeout: '1w' has an unknown unit 'w' (use a number and a unit: 500ms, 5s, 10m, 1h, 1d)",
                "gateway.yaml:16: loops: loops 0 out of range",
                "gateway.yaml:17: ioBackend: 'kqueue' is not one of auto, uring, epoll",
                "gateway.yaml:18: ktls: 'on' is not one of auto, off",
            ])
    }

    @Test func routeValueErrors() {
        let yaml = minimalGateway(
            """
            routes:
              - name: redis
                namespace: default
                port: 70000
                cluster: east
                gateways: []
                identity: spiffe://cluster.local/namespace/x
                listen: 127.0.0.1:0
              - name: pg
                namespace: default
                port: 5432
                cluster: east
                gateways: [gw:4143, "gw:4143", ":4143", gw]
                target: {port: -1}
            """)
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:9: routes[0].port: port 70000 out of range",
                "gateway.yaml:11: routes[0].gateways: needs at least one gateway address",
                "gateway.yaml:12: routes[0].identity: 'spiffe://cluster.local/namespace/x' is not a workload identity (expected spiffe://<trust-domain>/ns/<namespace>/sa/<account> or <account>.<namespace>.serviceaccount.identity.<trust-domain>)",
                "gateway.yaml:13: routes[0].listen: port 0 out of range",
                "gateway.yaml:18: routes[1].gateways[1]: gateway gw:4143 is listed twice",
                "gateway.yaml:18: routes[1].gateways[2]: ':4143' has no host",
                "gateway.yaml:18: routes[1].gateways[3]: 'gw' has no port (expected host:port)",
                "gateway.yaml:19: routes[1].target.port: port -1 out of range",
            ])
    }

    @Test func duplicateRoutesAndListenAddresses() {
        let yaml = minimalGateway(
            """
            admin:
              listen: 127.0.0.1:4143
            routes:
              - name: redis
                namespace: default
                port: 6379
                cluster: east
                gateways: [gw:4143]
                listen: 127.0.0.1:16379
              - name: redis
                namespace: default
                port: 6380
                cluster: north
                gateways: [gw:4143]
                listen: 127.0.0.1:16379
              - name: redis
                namespace: other
                port: 6379
                cluster: east
                gateways: [gw:4143]
            """)
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:7: admin.listen: address 127.0.0.1:4143 conflicts with inbound.listen 0.0.0.0:4143 (default)",
                "gateway.yaml:15: routes[1]: duplicate route default/redis (first defined at line 9)",
                "gateway.yaml:20: routes[1].listen: address 127.0.0.1:16379 conflicts with routes[0].listen 127.0.0.1:16379 (line 14)",
            ])
    }

    @Test func outboundRangeTooSmallForTheRoutes() {
        let yaml = minimalGateway(
            """
            outbound:
              ports: 4200-4200
            routes:
              - {name: a, namespace: default, port: 1, cluster: east, gateways: [gw:4143]}
              - {name: b, namespace: default, port: 1, cluster: east, gateways: [gw:4143]}
              - {name: c, namespace: default, port: 1, cluster: east, gateways: [gw:4143], listen: "127.0.0.1:5000"}
            """)
        #expect(gatewayErrors(yaml) == ["gateway.yaml:7: outbound.ports: range 4200-4200 holds 1 ports but 2 routes need one"])
    }

    @Test func yamlSyntaxErrorHasALine() {
        let yaml = """
            cluster: west
            identity:
              cert: a
              key: b: c
            """
        let errors = gatewayErrors(yaml)
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("gateway.yaml:4: invalid YAML: mapping values are not allowed in this context") == true)
    }

    @Test func unclosedFlowSequenceIsASyntaxError() {
        let yaml = minimalGateway("routes: [\n  {name: a}\n")
        let errors = gatewayErrors(yaml)
        #expect(errors.count == 1)
        #expect(errors.first?.hasPrefix("gateway.yaml:8: invalid YAML:") == true)
    }

    @Test func duplicateYAMLKeyIsReportedWithItsLine() {
        let yaml = minimalGateway("loops: 2\nloops: 3\n")
        #expect(gatewayErrors(yaml) == ["gateway.yaml:7: loops: duplicate key (first written at line 6)"])
    }

    @Test func emptyFileAndNonMappingRoot() {
        #expect(gatewayErrors("") == ["gateway.yaml:1: the file is empty"])
        #expect(gatewayErrors("# only a comment\n") == ["gateway.yaml:1: the file is empty"])
        #expect(gatewayErrors("- a\n- b\n") == ["gateway.yaml:1: expected a mapping of keys to values at the top level, found a list"])
    }

    @Test func allErrorsAreCollectedInFileOrderAndPrintedOnePerLine() throws {
        let yaml = """
            cluster: West
            identity: {cert: a, key: b, trust: c}
            inbound:
              lisen: 1.2.3.4:1
            loops: -3
            """
        do {
            _ = try GatewayConfig.parse(yaml: yaml, fileName: "gw.yaml")
            Issue.record("expected errors")
        } catch {
            #expect(error.errors.map(\.line) == [1, 4, 5])
            #expect(error.errors.map(\.field) == ["cluster", "inbound.lisen", "loops"])
            #expect(
                error.description == """
                    gw.yaml:1: cluster: 'West' is not a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit)
                    gw.yaml:4: inbound.lisen: unknown key (did you mean listen?)
                    gw.yaml:5: loops: loops -3 out of range
                    """)
        }
    }
}
