import MeshgateProxy
import Testing

@testable import MeshgateControl

/// `links.pool` (the warm pool of each link's mirrored routes, on by default) and its
/// per-cluster override, with `file:line: field:` errors like the other link settings.
@Suite struct LinksPoolConfigTests {
    /// The `links:` settings of a minimal gateway config with `section` added.
    static func links(_ section: String) throws -> LinksSettings {
        try #require(try GatewayConfig.parse(yaml: minimalGateway(section)).links)
    }

    @Test("defaults: 4 idle connections per address, each kept 60s at most")
    func defaults() throws {
        let links = try Self.links("links: links/\n")
        #expect(links.defaults.pool == WarmPoolPolicy(idle: 4, maxAge: .seconds(60)))
        #expect(links.defaults.pool.isEnabled, "pools are on by default")
        #expect(GatewayDefaults.poolIdle == 4)
        #expect(GatewayDefaults.poolMaxAge == .seconds(60))
        #expect(LinkSettings().pool == GatewayDefaults.warmPool)
    }

    @Test("a links-level pool applies to every link; idle 0 turns it off")
    func linksLevel() throws {
        let links = try Self.links(
            """
            links:
              dir: links
              pool: {idle: 8, maxAge: 30s}
            """)
        #expect(links.defaults.pool == WarmPoolPolicy(idle: 8, maxAge: .seconds(30)))
        #expect(links.settings(for: "north").pool == WarmPoolPolicy(idle: 8, maxAge: .seconds(30)))

        let offLinks = try Self.links("links:\n  dir: links\n  pool:\n    idle: 0\n")
        #expect(offLinks.defaults.pool == WarmPoolPolicy(idle: 0, maxAge: .seconds(60)))
        #expect(!offLinks.defaults.pool.isEnabled)
    }

    @Test("the extremes are accepted: idle 0 and 64, maxAge 1s and 1h")
    func boundaries() throws {
        let links = try Self.links(
            """
            links:
              dir: links
              pool: {idle: 64, maxAge: 1h}
              clusters:
                north:
                  pool: {idle: 0, maxAge: 1s}
            """)
        #expect(links.defaults.pool == WarmPoolPolicy(idle: 64, maxAge: .seconds(3600)))
        #expect(links.settings(for: "north").pool == WarmPoolPolicy(idle: 0, maxAge: .seconds(1)))
    }

    @Test("a cluster's pool is merged key by key with the links-level one (written or default)")
    func perClusterOverrideMergedKeyByKey() throws {
        let links = try Self.links(
            """
            links:
              dir: links
              pool:
                idle: 6
              clusters:
                north:
                  pool: {maxAge: 10s}
                east:
                  pool: {idle: 2}
                south:
                  limits: {services: 5}
            """)
        #expect(links.defaults.pool == WarmPoolPolicy(idle: 6, maxAge: .seconds(60)), "maxAge at its default")
        #expect(links.settings(for: "north").pool == WarmPoolPolicy(idle: 6, maxAge: .seconds(10)), "idle inherited")
        #expect(links.settings(for: "east").pool == WarmPoolPolicy(idle: 2, maxAge: .seconds(60)), "maxAge inherited")
        #expect(links.settings(for: "south").pool == links.defaults.pool, "no pool written: the links-level one")
        #expect(links.settings(for: "west").pool == links.defaults.pool, "no override")
    }

    @Test("a pool change changes the link's settings (so its mirror restarts)")
    func poolIsPartOfTheSettings() {
        let a = LinkSettings(pool: WarmPoolPolicy(idle: 4, maxAge: .seconds(60)))
        let b = LinkSettings(pool: WarmPoolPolicy(idle: 4, maxAge: .seconds(61)))
        #expect(a != b)
        #expect(a == LinkSettings())
    }

    @Test("out-of-range and unknown pool keys are errors naming the field and line")
    func errors() {
        let yaml = minimalGateway(
            """
            links:
              dir: links
              pool:
                idle: 65
                maxAge: 0s
              clusters:
                north:
                  pool: {idle: -1, maxAge: 2h}
                east:
                  pool: {idel: 3, maxAge: soon}
                south:
                  pool: {idle: "4", maxAge: 500ms}
            """)
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:9: links.pool.idle: idle 65 out of range",
                "gateway.yaml:10: links.pool.maxAge: maxAge 0s out of range (1s–1h)",
                "gateway.yaml:13: links.clusters.north.pool.idle: idle -1 out of range",
                "gateway.yaml:13: links.clusters.north.pool.maxAge: maxAge 2h out of range (1s–1h)",
                "gateway.yaml:15: links.clusters.east.pool.idel: unknown key (did you mean idle?)",
                "gateway.yaml:15: links.clusters.east.pool.maxAge: 'soon' is not a duration (use a number and a unit: 500ms, 5s, 10m, 1h, 1d)",
                "gateway.yaml:17: links.clusters.south.pool.idle: expected an integer, found the string \"4\"",
                "gateway.yaml:17: links.clusters.south.pool.maxAge: maxAge 500ms out of range (1s–1h)",
            ])
    }

    @Test("pool must be a mapping; a misspelt pool key is refused with a suggestion")
    func wrongShapes() {
        let yaml = minimalGateway(
            """
            links:
              dir: links
              pool: 4
              pools: {idle: 1}
            """)
        #expect(
            gatewayErrors(yaml) == [
                "gateway.yaml:8: links.pool: expected a mapping, found '4'",
                "gateway.yaml:9: links.pools: unknown key (did you mean pool?)",
            ])
    }
}
