import Testing

@testable import MeshgateControl

@Suite struct LinksSettingsTests {
    @Test func aFolderAloneMeansEveryDefault() throws {
        let config = try GatewayConfig.parse(yaml: minimalGateway("links: links/\n"), baseDirectory: "/etc/meshgate")
        let links = try #require(config.links)
        #expect(links == LinksSettings(dir: "/etc/meshgate/links"))
        #expect(links.defaults == LinkSettings())
        #expect(links.clusters.isEmpty)
        #expect(links.settings(for: "east") == LinkSettings())
    }

    @Test func defaultsAreTheDocumentedValues() throws {
        let config = try GatewayConfig.parse(yaml: minimalGateway("links:\n  dir: links\n"))
        let links = try #require(config.links)
        #expect(links.dir == "links", "no base directory: the path stays as written")
        #expect(links.defaults.probeInterval == .seconds(3))
        #expect(links.defaults.probeTimeout == .seconds(1))
        #expect(links.defaults.failureThreshold == 3)
        #expect(links.defaults.maxServices == 1000)
        #expect(links.defaults.maxUpdatesPerSecond == 100)
        #expect(GatewayDefaults.probeInterval == .seconds(3))
        #expect(GatewayDefaults.probeTimeout == .seconds(1))
        #expect(GatewayDefaults.probeFailureThreshold == 3)
        #expect(GatewayDefaults.linkServices == 1000)
        #expect(GatewayDefaults.linkUpdatesPerSecond == 100)
    }

    @Test func emptySectionsAndNullValuesTakeDefaults() throws {
        let yaml = minimalGateway(
            """
            links:
              dir: links
              probe:
              limits: {}
              clusters:
            """)
        let links = try #require(try GatewayConfig.parse(yaml: yaml).links)
        #expect(links == LinksSettings(dir: "links"))
        #expect(try GatewayConfig.parse(yaml: minimalGateway("links:\n")).links == nil)
    }

    @Test func aFullMappingSetsEveryValue() throws {
        let yaml = minimalGateway(
            """
            links:
              dir: ../links
              probe:
                interval: 10s
                timeout: 2500ms
                failureThreshold: 5
              limits:
                services: 20
                updatesPerSecond: 7
              clusters:
                north:
                  probe: {interval: 1s, timeout: 200ms, failureThreshold: 1}
                  limits: {services: 100000, updatesPerSecond: 100000}
            """)
        let config = try GatewayConfig.parse(yaml: yaml, baseDirectory: "/etc/meshgate")
        let links = try #require(config.links)
        #expect(links.dir == "/etc/links")
        #expect(
            links.defaults
                == LinkSettings(
                    probeInterval: .seconds(10), probeTimeout: .milliseconds(2500), failureThreshold: 5, maxServices: 20,
                    maxUpdatesPerSecond: 7))
        #expect(
            links.clusters == [
                "north": LinkSettings(
                    probeInterval: .seconds(1), probeTimeout: .milliseconds(200), failureThreshold: 1, maxServices: 100_000,
                    maxUpdatesPerSecond: 100_000)
            ])
    }

    @Test func overridesFallBackToTheLinksValuesKeyByKey() throws {
        let yaml = minimalGateway(
            """
            links:
              dir: links
              probe:
                interval: 5s
                timeout: 2s
              limits:
                services: 50
              clusters:
                north:
                  probe: {interval: 3s}
                east:
                  limits:
                    updatesPerSecond: 10
                south:
            """)
        let links = try #require(try GatewayConfig.parse(yaml: yaml).links)
        let defaults = LinkSettings(probeInterval: .seconds(5), probeTimeout: .seconds(2), maxServices: 50)
        #expect(links.defaults == defaults)
        #expect(
            links.settings(for: "north")
                == LinkSettings(probeInterval: .seconds(3), probeTimeout: .seconds(2), maxServices: 50))
        #expect(
            links.settings(for: "east")
                == LinkSettings(probeInterval: .seconds(5), probeTimeout: .seconds(2), maxServices: 50, maxUpdatesPerSecond: 10))
        #expect(links.clusters.keys.sorted() == ["east", "north"], "a cluster without a value has no override")
        #expect(links.settings(for: "south") == defaults)
        #expect(links.settings(for: "west") == defaults)
    }

    @Test func unknownKeysAtEveryLevelWithASuggestion() {
        let yaml = minimalGateway(
            """
            links:
              dir: links
              prob:
                interval: 1s
              probe:
                intervall: 1s
              limits: {service: 10}
              clusters:
                north:
                  limts: {services: 1}
                  probe: {Timeout: 1s}
            """)
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:8: links.prob: unknown key (did you mean probe?)",
                "gateway.yaml:11: links.probe.intervall: unknown key (did you mean interval?)",
                "gateway.yaml:12: links.limits.service: unknown key (did you mean services?)",
                "gateway.yaml:15: links.clusters.north.limts: unknown key (did you mean limits?)",
                "gateway.yaml:16: links.clusters.north.probe.Timeout: unknown key (did you mean timeout?)",
            ])
    }

    @Test func badDurationsAndValuesOutOfRange() {
        let yaml = minimalGateway(
            """
            links:
              dir: links
              probe:
                interval: 3
                timeout: 0s
                failureThreshold: 101
              limits:
                services: 0
                updatesPerSecond: "5"
              clusters:
                north:
                  probe: {interval: 1x, failureThreshold: 0}
                  limits: {services: 100001}
            """)
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:9: links.probe.interval: '3' has no unit (use a number and a unit: 500ms, 5s, 10m, 1h, 1d)",
                "gateway.yaml:10: links.probe.timeout: must be more than zero",
                "gateway.yaml:11: links.probe.failureThreshold: failureThreshold 101 out of range",
                "gateway.yaml:13: links.limits.services: services 0 out of range",
                "gateway.yaml:14: links.limits.updatesPerSecond: expected an integer, found the string \"5\"",
                "gateway.yaml:17: links.clusters.north.probe.interval: '1x' has an unknown unit 'x' (use a number and a unit: 500ms, 5s, 10m, 1h, 1d)",
                "gateway.yaml:17: links.clusters.north.probe.failureThreshold: failureThreshold 0 out of range",
                "gateway.yaml:18: links.clusters.north.limits.services: services 100001 out of range",
            ])
    }

    @Test func timeoutMustBeLessThanTheInterval() {
        let written = minimalGateway(
            """
            links:
              dir: links
              probe:
                interval: 2s
                timeout: 2s
            """)
        #expect(
            gatewayErrors(written) == [
                "gateway.yaml:10: links.probe.timeout: timeout 2s must be less than the interval 2s"
            ])

        let defaultTimeout = minimalGateway(
            """
            links:
              dir: links
              probe: {interval: 500ms}
            """)
        #expect(
            gatewayErrors(defaultTimeout) == [
                "gateway.yaml:8: links.probe.timeout: timeout 1s (default) must be less than the interval 500ms"
            ])
    }

    @Test func timeoutIsCheckedAgainstTheIntervalAfterMerging() {
        let yaml = minimalGateway(
            """
            links:
              dir: links
              probe:
                timeout: 2s
              clusters:
                north:
                  probe:
                    interval: 1s
                east:
                  probe: {timeout: 5s}
                west:
                  probe: {interval: 1s, timeout: 1500ms}
                south:
                  probe: {interval: 4s, timeout: 3s}
            """)
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:12: links.clusters.north.probe.timeout: timeout 2s (from links.probe) must be less than the interval 1s",
                "gateway.yaml:15: links.clusters.east.probe.timeout: timeout 5s must be less than the interval 3s (from links.probe)",
                "gateway.yaml:17: links.clusters.west.probe.timeout: timeout 1s500ms must be less than the interval 1s",
            ])
    }

    @Test func aWrongDurationIsNotComparedAgain() {
        let yaml = minimalGateway(
            """
            links:
              dir: links
              probe: {interval: soon}
              clusters:
                north: {probe: {timeout: 4s}}
            """)
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:8: links.probe.interval: 'soon' is not a duration (use a number and a unit: 500ms, 5s, 10m, 1h, 1d)"
            ])
    }

    @Test func clusterKeysMustBeDNSLabels() {
        let yaml = minimalGateway(
            """
            links:
              dir: links
              clusters:
                North_1:
                  probe: {interval: 2s}
                ok-cluster:
                  limits: {services: 5}
                "":
                  limits: {services: 5}
            """)
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:9: links.clusters.North_1: 'North_1' is not a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit)",
                "gateway.yaml:13: links.clusters.: must not be empty",
            ])
    }

    @Test func dirIsRequiredInTheMappingForm() {
        let yaml = minimalGateway(
            """
            loops: 2
            links:
              probe: {interval: 5s}
            """)
        #expect(gatewayErrors(yaml) == ["gateway.yaml:7: links.dir: missing required key"])
        #expect(gatewayErrors(minimalGateway("links:\n  dir:\n")) == ["gateway.yaml:7: links.dir: a value is required"])
        #expect(gatewayErrors(minimalGateway("links:\n  dir: \"\"\n")) == ["gateway.yaml:7: links.dir: must not be empty"])
        #expect(gatewayErrors(minimalGateway("links: {}\n")) == ["gateway.yaml:6: links.dir: missing required key"])
    }

    @Test func wrongShapes() {
        #expect(gatewayErrors(minimalGateway("links: [a, b]\n")) == ["gateway.yaml:6: links: expected a folder or a mapping, found a list"])
        #expect(
            gatewayErrors(minimalGateway("links:\n  dir: links\n  clusters: [north]\n  probe: 3s\n")) == [
                "gateway.yaml:8: links.clusters: expected a mapping of cluster names, found a list",
                "gateway.yaml:9: links.probe: expected a mapping, found '3s'",
            ])
        #expect(
            gatewayErrors(minimalGateway("links:\n  dir: links\n  clusters:\n    north: 1s\n")) == [
                "gateway.yaml:9: links.clusters.north: expected a mapping, found '1s'"
            ])
    }
}
