import Testing

@testable import MeshgateControl
import MeshgateTestKit

@Suite struct GatewayConfigTests {
    static let full = """
        cluster: west
        trustDomain: example.org
        identity:
          cert: identity/tls.crt
          key: /etc/meshgate/tls.key
          trust: ../ca.crt
        inbound:
          listen: "[::]:5143"
          headerTimeout: 2s
          handshakeTimeout: 1500ms
        outbound:
          bind: 127.0.0.2
          ports: 4200-4299
          requireClientTLS: true
        admin:
          listen: 127.0.0.1:9991
        registry: registry.yaml
        links: links/
        limits:
          maxConnections: 5000
          connectTimeout: 3s
          idleTimeout: 10m
          drainTimeout: 1d
        loops: 3
        ioBackend: epoll
        ktls: off
        routes:
          - name: redis-east
            namespace: default
            port: 6379
            cluster: east
            gateways: [east-gw.example.com:4143, 10.0.0.2:4143]
            identity: gateway.meshgate-east.serviceaccount.identity.example.org
            target: {namespace: cache, name: redis, port: 16379}
            listen: 127.0.0.1:16379
            requireClientTLS: false
          - name: billing
            namespace: payments
            port: 8080
            cluster: north
            gateways:
              - north-gw:4143
        """

    @Test func parsesEveryValueOfAFullFile() throws {
        let config = try GatewayConfig.parse(yaml: Self.full, fileName: "gateway.yaml", baseDirectory: "/etc/meshgate")
        #expect(config.cluster == "west")
        #expect(config.trustDomain == "example.org")
        #expect(
            config.identity == IdentityFiles(cert: "/etc/meshgate/identity/tls.crt", key: "/etc/meshgate/tls.key", trust: "/etc/ca.crt"))
        #expect(config.inbound.listen == HostPort(host: "::", port: 5143))
        #expect(config.inbound.headerTimeout == .seconds(2))
        #expect(config.inbound.handshakeTimeout == .milliseconds(1500))
        #expect(config.outbound.bind == "127.0.0.2")
        #expect(config.outbound.ports == PortRange(lower: 4200, upper: 4299))
        #expect(config.outbound.requireClientTLS)
        #expect(config.admin.listen == HostPort(host: "127.0.0.1", port: 9991))
        #expect(config.registry == "/etc/meshgate/registry.yaml")
        #expect(config.links?.dir == "/etc/meshgate/links")
        #expect(
            config.limits
                == GatewayLimits(
                    maxConnections: 5000, connectTimeout: .seconds(3), idleTimeout: .seconds(600), drainTimeout: .seconds(86400)))
        #expect(config.loops == 3)
        #expect(config.ioBackend == .epoll)
        #expect(config.ktls == .off)
        #expect(config.routes.count == 2)

        let redis = try #require(config.route(namespace: "default", name: "redis-east"))
        #expect(redis.port == 6379)
        #expect(redis.cluster == "east")
        #expect(redis.gateways == [HostPort(host: "east-gw.example.com", port: 4143), HostPort(host: "10.0.0.2", port: 4143)])
        #expect(redis.identity.spiffeURI == "spiffe://example.org/ns/meshgate-east/sa/gateway")
        #expect(redis.target == RouteTarget(namespace: "cache", name: "redis", port: 16379))
        #expect(redis.listen == HostPort(host: "127.0.0.1", port: 16379))
        #expect(redis.requireClientTLS == false)
        #expect(redis.line == 28)
    }

    @Test func routeDefaultsComeFromTheRouteAndTheConfig() throws {
        let config = try GatewayConfig.parse(yaml: Self.full, fileName: "gateway.yaml")
        let billing = try #require(config.route(namespace: "payments", name: "billing"))
        #expect(billing.identity.spiffeURI == "spiffe://example.org/ns/meshgate-north/sa/gateway")
        #expect(billing.target == RouteTarget(namespace: "payments", name: "billing", port: 8080))
        #expect(billing.listen == nil)
        #expect(billing.requireClientTLS == true, "inherits outbound.requireClientTLS")
        #expect(billing.gateways == [HostPort(host: "north-gw", port: 4143)])
    }

    @Test func defaultsFillEverythingLeftOut() throws {
        let config = try GatewayConfig.parse(yaml: minimalGateway(), fileName: "gateway.yaml")
        #expect(config.trustDomain == "cluster.local")
        #expect(config.identity.cert == "tls.crt", "no base directory: paths stay as written")
        #expect(
            config.inbound
                == InboundSettings(
                    listen: HostPort(host: "0.0.0.0", port: 4143), headerTimeout: .seconds(5), handshakeTimeout: .seconds(10)))
        #expect(config.outbound == OutboundSettings(bind: "127.0.0.1", ports: PortRange(lower: 4200, upper: 4999), requireClientTLS: false))
        #expect(config.admin.listen == HostPort(host: "127.0.0.1", port: 4191))
        #expect(config.registry == nil)
        #expect(config.links == nil)
        #expect(
            config.limits
                == GatewayLimits(
                    maxConnections: 100_000, connectTimeout: .seconds(5), idleTimeout: .seconds(3600), drainTimeout: .seconds(30)))
        #expect(config.loops == GatewayDefaults.loops)
        #expect(config.loops >= 1)
        #expect(config.ioBackend == .auto)
        #expect(config.ktls == .auto)
        #expect(config.routes.isEmpty)
        #expect(config.gatewayIdentity?.spiffeURI == "spiffe://cluster.local/ns/meshgate-west/sa/gateway")
    }

    @Test func emptySectionsAndNullValuesTakeDefaults() throws {
        let config = try GatewayConfig.parse(yaml: minimalGateway("inbound:\nlimits: {}\nregistry: ~\nloops:\n"), fileName: "gateway.yaml")
        #expect(config.inbound.listen == GatewayDefaults.inboundListen)
        #expect(config.registry == nil)
        #expect(config.loops == GatewayDefaults.loops)
    }

    @Test func loadResolvesPathsAgainstTheFilesFolder() throws {
        let folder = try TemporaryFolder(prefix: "meshgate-control")
        defer { folder.remove() }
        try folder.write("gateway.yaml", minimalGateway("registry: registry.yaml\n"))
        let config = try GatewayConfig.load(path: folder.file("gateway.yaml"))
        #expect(config.identity.cert == folder.file("tls.crt"))
        #expect(config.registry == folder.file("registry.yaml"))
    }

    @Test func loadOfAMissingFileNamesIt() {
        #expect(throws: ConfigErrors.self) { try GatewayConfig.load(path: "/nonexistent/meshgate/gateway.yaml") }
        do {
            _ = try GatewayConfig.load(path: "/nonexistent/meshgate/gateway.yaml")
        } catch {
            #expect(error.errors.count == 1)
            #expect(error.description.hasPrefix("/nonexistent/meshgate/gateway.yaml: cannot read the file"))
        }
    }

    @Test func ipv6OutboundBindMayHaveBrackets() throws {
        let config = try GatewayConfig.parse(yaml: minimalGateway("outbound:\n  bind: \"[::1]\"\n"), fileName: "gateway.yaml")
        #expect(config.outbound.bind == "::1")
    }
}
