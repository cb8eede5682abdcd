import Foundation
import Logging
import MeshgateLoad
import MeshgateLoop
import MeshgateTLS
import MeshgateWire
import Testing
@testable import MeshgateProxy

/// `ProxyServer.traffic()` on a real gateway-mode server that is its own remote: a route whose
/// gateway is the server's own inbound port (mTLS with the east identity both ways), a service
/// behind it backed by an echo server, and a route that is down.
@Suite(.serialized) struct TrafficStatsTests {
    @Test(arguments: IOBackendKind.allCases)
    func countsBySeriesResultAndPath(kind: IOBackendKind) throws {
        let echo = try BackendServer(behavior: .echo)
        defer { echo.stop() }
        let credentials = try StreamTestPKI.gatewayCredentials()
        let publisher = RouteTablePublisher(
            bindAddress: try SocketAddress.resolve("127.0.0.1:0"), portRange: 41_200...41_299, credentials: credentials, loops: 1)
        var logger = Logger(label: "traffic-test")
        logger.logLevel = .critical
        let config = ProxyConfiguration(
            listen: try SocketAddress.resolve("127.0.0.1:0"), upstreams: [], threads: 1, backend: kind == .uring ? .uring : .epoll,
            tls: ProxyTLSConfiguration(handshakeTimeout: .seconds(5), kernelTLS: false),
            gateway: GatewaySettings(publisher: publisher, headerTimeout: .seconds(5)))
        let server = try ProxyServer(configuration: config, logger: logger)
        try server.start()
        defer {
            server.stop()
            _ = server.wait(timeout: .seconds(5))
        }
        let inbound = server.boundAddress
        let service = ExportedService(
            namespace: "default", name: "echo", exported: true, allowed: nil, endpoints: [7000: [try SocketAddress.resolve(host: "127.0.0.1", port: echo.port)]])
        let up = GatewayRoute(
            key: "default/echo-west:7000", cluster: "west", gateways: [inbound], expectedIdentity: StreamTestPKI.eastIdentity,
            target: ConnectTarget(namespace: "default", name: "echo", port: 7000))
        let down = GatewayRoute(
            key: "default/gone-north:7000", cluster: "north", gateways: [], expectedIdentity: StreamTestPKI.eastIdentity,
            target: ConnectTarget(namespace: "default", name: "gone", port: 7000), alive: false)
        let missing = GatewayRoute(
            key: "default/nothing-west:7001", cluster: "west", gateways: [inbound], expectedIdentity: StreamTestPKI.eastIdentity,
            target: ConnectTarget(namespace: "default", name: "nothing", port: 7001))
        let report = publisher.publish(routes: [up, down, missing], services: [service])
        let upPort = try #require(report.listening[up.key]?.port)
        let downPort = try #require(report.listening[down.key]?.port)
        let missingPort = try #require(report.listening[missing.key]?.port)
        #expect(pollUntil { publisher.appliedByAllLoops >= report.generation })

        let sizes = [1000, 50_000, 200_000]
        let passed = IntegrityRun.run(
            target: Endpoint(host: "127.0.0.1", port: upPort), sizes: sizes, concurrency: 3, deadline: .seconds(30))
        #expect(passed.ok == 3, "\(passed.failureSamples)")
        for port in [downPort, missingPort] {
            let refused = IntegrityRun.run(target: Endpoint(host: "127.0.0.1", port: port), sizes: [100], concurrency: 1, deadline: .seconds(10))
            #expect(refused.ok == 0, "port \(port) refuses")
        }

        let outKey = TrafficKey(direction: .outbound, cluster: "west", service: "default/echo-west")
        let inKey = TrafficKey(direction: .inbound, cluster: "east", service: "default/echo")
        let downKey = TrafficKey(direction: .outbound, cluster: "north", service: "default/gone-north")
        let missingOut = TrafficKey(direction: .outbound, cluster: "west", service: "default/nothing-west")
        let unknownIn = TrafficKey(direction: .inbound, cluster: "east", service: "unknown")
        // Every connection has ended once the series show nothing active.
        #expect(pollUntil {
            let t = server.traffic()
            return [outKey, inKey, downKey, missingOut, unknownIn].allSatisfy { t.series[$0] != nil && t.series[$0]!.active == 0 }
                && (t.series[inKey]?.ended[.ok] ?? 0) == 3
        }, "\(server.traffic().series)")
        let t = server.traffic()
        let total = UInt64(sizes.reduce(0, +))
        #expect(t.series[outKey]?.ended[.ok] == 3)
        #expect(t.series[outKey]?.bytesIn == total, "client → route bytes")
        #expect(t.series[outKey]?.bytesOut == total, "echoed back")
        #expect(t.series[inKey]?.ended[.ok] == 3)
        #expect(t.series[inKey]?.bytesIn == total)
        #expect(t.series[downKey]?.ended[.linkDown] == 1)
        #expect(t.series[downKey]?.refusedByReason["link_down"] == 1)
        // The missing service: refused at the inbound side (unknown_service, series `unknown`); the
        // outbound side sees west reset it.
        #expect(t.series[unknownIn]?.ended[.refused] == 1)
        #expect(t.series[unknownIn]?.refusedByReason["unknown_service"] == 1)
        #expect(t.series[missingOut]?.ended[.reset] == 1)
        // Handshakes: 4 connections through west's inbound, each with two sides' handshakes.
        #expect(t.handshake.counts.reduce(0, +) >= 8, "\(t.handshake)")
        #expect(t.handshake.sum > 0)
        #expect(t.connect.counts.reduce(0, +) >= 7, "connects: 4 to the inbound port, 3 to the echo server: \(t.connect)")
        // 3 outbound + 3 inbound echo connections, and the outbound side of the missing service (it
        // was open when west reset it; west's side never got past the header).
        #expect(t.paths["userspace"] == 7, "connections carried over user-space TLS: \(t.paths)")
        #expect(t.paths["ktls", default: 0] == 0)
    }
}
