import MeshgateLoop
import MeshgateNames
import MeshgateProxy
import MeshgateWire
import Testing

@testable import MeshgateControl

/// Mirrored routes carry the warm pool of their link's settings (`links.pool`, merged with the
/// cluster's override); static routes from gateway.yaml keep none.
@Suite struct MirroredRoutePoolTests {
    static let web = DiscoveredService(namespace: "default", name: "web", ports: [80, 443])
    static let db = DiscoveredService(namespace: "default", name: "db", ports: [5432])

    /// The settings of a config with a links-level pool and north's override of its `idle`.
    static func links() throws -> LinksSettings {
        try LinksPoolConfigTests.links(
            """
            links:
              dir: links
              pool: {idle: 8, maxAge: 20s}
              clusters:
                north:
                  pool: {idle: 2}
            """)
    }

    /// A synced, live link to `cluster` exporting `services`, with `settings`' pool (none when nil).
    static func source(_ cluster: String, _ services: [DiscoveredService], settings: LinkSettings?) -> MirrorSource {
        MirrorSource(
            cluster: cluster, identity: WorkloadIdentity("spiffe://cluster.local/ns/meshgate-\(cluster)/sa/gateway")!,
            state: MirroredRoutesTests.state(services, gateways: [MirrorCompositionTests.gateway]),
            pool: settings?.pool)
    }

    @Test("compose: each link's routes carry the pool of its cluster's settings")
    func composeCarriesEachClustersPool() throws {
        let links = try Self.links()
        let composed = MirroredRoutes.compose(
            sources: [
                Self.source("north", [Self.web], settings: links.settings(for: "north")),
                Self.source("south", [Self.db], settings: links.settings(for: "south")),
            ], taken: [], holders: [:], pruneAbsent: true, held: [:], requireClientTLS: false)
        #expect(composed.routes.keys.sorted() == ["default/db-south:5432", "default/web-north:443", "default/web-north:80"])
        let north = WarmPoolPolicy(idle: 2, maxAge: .seconds(20))
        let south = WarmPoolPolicy(idle: 8, maxAge: .seconds(20))
        #expect(composed.routes["default/web-north:80"]?.pool == north)
        #expect(composed.routes["default/web-north:443"]?.pool == north)
        #expect(composed.routes["default/db-south:5432"]?.pool == south)
    }

    @Test("compose: a link whose pool is off (idle 0) or not given has routes without a pool")
    func composeWithoutPool() {
        let off = LinkSettings(pool: WarmPoolPolicy(idle: 0, maxAge: .seconds(60)))
        let composed = MirroredRoutes.compose(
            sources: [Self.source("north", [Self.web], settings: off), Self.source("east", [Self.db], settings: nil)], taken: [], holders: [:], pruneAbsent: true, held: [:], requireClientTLS: false)
        #expect(composed.routes.count == 3)
        #expect(composed.routes.values.allSatisfy { $0.pool == nil })
    }

    @Test("routes: one mirror's routes carry the pool it is given, or none")
    func singleMirrorRoutes() {
        let pool = WarmPoolPolicy(idle: 3, maxAge: .seconds(45))
        var taken: Set<String> = []
        let withPool = MirroredRoutes.routes(
            cluster: "west", identity: MirroredRoutesTests.identity, state: MirroredRoutesTests.state([Self.web]),
            requireClientTLS: false, taken: &taken, pool: pool, refused: { _ in })
        #expect(withPool.count == 2)
        #expect(withPool.allSatisfy { $0.pool == pool })
        var taken2: Set<String> = []
        let without = MirroredRoutes.routes(
            cluster: "west", identity: MirroredRoutesTests.identity, state: MirroredRoutesTests.state([Self.web]),
            requireClientTLS: false, taken: &taken2, refused: { _ in })
        #expect(without.allSatisfy { $0.pool == nil })
    }

    @Test("static routes from gateway.yaml take their cluster's links.pool; none without a links: section")
    func staticRoutesTakeTheirClustersPool() throws {
        let routes = """
            routes:
              - {name: redis, namespace: default, port: 6379, cluster: north, gateways: ["127.0.0.1:4143"]}
              - {name: web, namespace: default, port: 80, cluster: south, gateways: ["127.0.0.1:4143"]}
            """
        let linked = try GatewayConfig.parse(yaml: minimalGateway(
            """
            links:
              dir: links
              pool: {idle: 8}
              clusters:
                south: {pool: {idle: 0}}
            """ + "\n" + routes))
        // As the controller builds them: the pool of the route's cluster.
        let built = linked.routes.map { GatewayTables.route($0, bind: "127.0.0.1", pool: linked.links?.settings(for: $0.cluster).pool, problem: { _ in }) }
        #expect(built.first { $0.cluster == "north" }?.pool == WarmPoolPolicy(idle: 8, maxAge: .seconds(60)))
        #expect(built.first { $0.cluster == "south" }?.pool == nil, "idle 0: no pool")
        let unlinked = try GatewayConfig.parse(yaml: minimalGateway(routes))
        #expect(unlinked.links == nil)
        #expect(unlinked.routes.allSatisfy { GatewayTables.route($0, bind: "127.0.0.1", pool: unlinked.links?.settings(for: $0.cluster).pool, problem: { _ in }).pool == nil })
    }
}
