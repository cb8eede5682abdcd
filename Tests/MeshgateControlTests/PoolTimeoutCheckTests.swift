import MeshgateProxy
import Testing

@testable import MeshgateControl

/// `meshgate check` warns when `inbound.pooledIdleTimeout` is not above the longest enabled
/// `links.pool.maxAge` (peers configured alike would see their pooled connections reaped early).
@Suite struct PoolTimeoutCheckTests {
    static func config(_ extra: String) throws -> GatewayConfig {
        try GatewayConfig.parse(yaml: minimalGateway(extra))
    }

    @Test("defaults (120s over 60s), no links, or every pool off: nothing to say")
    func quiet() throws {
        #expect(GatewayCheck.poolTimeoutCheck(try Self.config("links: links/\n")) == nil)
        #expect(GatewayCheck.poolTimeoutCheck(try Self.config("inbound: {pooledIdleTimeout: 1s}\n")) == nil)
        let off = "inbound: {pooledIdleTimeout: 10s}\nlinks: {dir: links, pool: {idle: 0, maxAge: 1m}}\n"
        #expect(GatewayCheck.poolTimeoutCheck(try Self.config(off)) == nil)
    }

    @Test("a timeout equal to maxAge is a warning naming both keys")
    func equalWarns() throws {
        let result = try #require(
            GatewayCheck.poolTimeoutCheck(try Self.config("inbound: {pooledIdleTimeout: 60s}\nlinks: links/\n")))
        #expect(result.status == .warning)
        #expect(result.detail.contains("inbound.pooledIdleTimeout 1m"), "\(result.detail)")
        #expect(result.detail.contains("links.pool.maxAge 1m"), "\(result.detail)")
    }

    @Test("the longest enabled maxAge counts, a cluster's included")
    func clusterOverride() throws {
        let yaml = """
            inbound: {pooledIdleTimeout: 5m}
            links:
              dir: links
              clusters:
                north: {pool: {maxAge: 10m}}
                east: {pool: {idle: 0, maxAge: 1h}}
            """
        let result = try #require(GatewayCheck.poolTimeoutCheck(try Self.config(yaml)))
        #expect(result.status == .warning)
        #expect(result.detail.contains("links.clusters.north.pool.maxAge 10m"), "\(result.detail)")
    }
}
