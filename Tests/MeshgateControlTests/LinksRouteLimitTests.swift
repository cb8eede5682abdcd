import Testing

@testable import MeshgateControl

/// `links.limits.routes`: the per-link cap on mirrored routes (default 256), overridable per
/// cluster, with `file:line: field:` errors like the other limits.
@Suite struct LinksRouteLimitTests {
    @Test func defaultIs256() throws {
        let links = try #require(try GatewayConfig.parse(yaml: minimalGateway("links: links/\n")).links)
        #expect(links.defaults.maxRoutes == 256)
        #expect(GatewayDefaults.linkRoutes == 256)
    }

    @Test func setAndOverriddenPerCluster() throws {
        let yaml = minimalGateway(
            """
            links:
              dir: links
              limits:
                routes: 32
              clusters:
                north:
                  limits: {routes: 4}
                east:
                  limits: {services: 10}
            """)
        let links = try #require(try GatewayConfig.parse(yaml: yaml).links)
        #expect(links.defaults.maxRoutes == 32)
        #expect(links.settings(for: "north").maxRoutes == 4)
        #expect(links.settings(for: "east").maxRoutes == 32, "inherited")
        #expect(links.settings(for: "east").maxServices == 10)
    }

    @Test func outOfRangeAndWrongTypes() {
        let yaml = minimalGateway(
            """
            links:
              dir: links
              limits:
                routes: 0
              clusters:
                north:
                  limits: {routes: "many"}
                west:
                  limits: {route: 3}
            """)
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:9: links.limits.routes: routes 0 out of range",
                "gateway.yaml:12: links.clusters.north.limits.routes: expected an integer, found the string \"many\"",
                "gateway.yaml:14: links.clusters.west.limits.route: unknown key (did you mean routes?)",
            ])
    }
}
