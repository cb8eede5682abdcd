import Foundation
import Logging
import MeshgateLoad
import MeshgateLoop
import MeshgateNames
import MeshgateTLS
import MeshgateWire
import Testing
@testable import MeshgateDiscovery
@testable import MeshgateProxy
import MeshgateTestKit

#if canImport(Glibc)
import Glibc
#endif

/// The inbound port of a real gateway-mode server (east's identity), on both backends: who may
/// reach a service, who may open a discover stream, and that a refused stream is reset at once.
@Suite(.serialized) struct GatewayInboundPolicyTests {
    /// A running gateway-mode server with a discovery server and `default/echo` (port 7000).
    final class Gateway {
        let server: ProxyServer
        let publisher: RouteTablePublisher
        let discovery: DiscoveryServer
        var inbound: SocketAddress { server.boundAddress }

        init(kind: IOBackendKind, policy: InboundPolicy = InboundPolicy(), services: [ExportedService]) throws {
            let credentials = try StreamTestPKI.gatewayCredentials()
            publisher = RouteTablePublisher(
                bindAddress: try SocketAddress.resolve("127.0.0.1:0"), portRange: 41_300...41_309, credentials: credentials, loops: 1)
            var logger = Logger(label: "inbound-policy-test")
            logger.logLevel = .critical
            discovery = DiscoveryServer(publisher: publisher, logger: logger, policy: policy.discover)
            let config = ProxyConfiguration(
                listen: try SocketAddress.resolve("127.0.0.1:0"), upstreams: [], threads: 1, backend: kind == .uring ? .uring : .epoll,
                tls: ProxyTLSConfiguration(handshakeTimeout: .seconds(5), kernelTLS: false),
                gateway: GatewaySettings(publisher: publisher, headerTimeout: .seconds(5), discovery: discovery, inbound: policy))
            server = try ProxyServer(configuration: config, logger: logger)
            try server.start()
            let report = publisher.publish(routes: [], services: services)
            _ = waitUntil(timeout: 5) { self.publisher.appliedByAllLoops >= report.generation }
        }

        deinit {
            discovery.stop()
            server.stop()
            _ = server.wait(timeout: .seconds(5))
        }

        /// A TLS stream to the inbound port presenting `leaf`, with `header` sent.
        func open(leaf: String, header: TransportHeader) throws -> TLSStream {
            let stream = try TLSStream.connect(
                to: inbound, context: try StreamTestPKI.context(.client, leaf: leaf), expected: StreamTestPKI.eastIdentity,
                deadline: .now + .seconds(5))
            try stream.write(try header.encoded(), deadline: .now + .seconds(2))
            return stream
        }

        /// Sends a line through `default/echo:port` as `leaf`; the echo, or nil when refused.
        func echo(leaf: String, port: UInt16 = 7000) throws -> String? {
            let stream = try open(leaf: leaf, header: .connect(ConnectTarget(namespace: "default", name: "echo", port: port), clientIdentity: nil))
            defer { stream.close() }
            let line = "hello \(leaf)\n"
            try? stream.write(Array(line.utf8), deadline: .now + .seconds(2))
            var got: [UInt8] = []
            let deadline = ContinuousClock.now + .seconds(5)
            while got.count < line.utf8.count {
                guard let bytes = try? stream.read(deadline: deadline), !bytes.isEmpty else { return nil }
                got += bytes
            }
            return String(decoding: got, as: UTF8.self)
        }

        func counter(_ name: ProxyCounters.Name) -> UInt64 { server.stats[name] }
    }

    static func echoService(_ echo: BackendServer, allowed: Set<WorkloadIdentity>? = nil) throws -> ExportedService {
        ExportedService(
            namespace: "default", name: "echo", exported: true, allowed: allowed,
            endpoints: [7000: [try SocketAddress.resolve(host: "127.0.0.1", port: echo.port)], 7002: []])
    }

    /// How a read on `stream` ended within `seconds`: "reset", "clean", "timeout" or another error.
    static func ending(_ stream: TLSStream, seconds: Double) -> String {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while true {
            do {
                let bytes = try stream.read(deadline: deadline)
                if bytes.isEmpty { return "clean" }
            } catch {
                if error.timedOut { return "timeout" }
                return error.description.contains("reset") ? "reset" : "error: \(error)"
            }
        }
    }

    // MARK: - Services

    @Test("a workload identity is refused on the inbound port by default; a gateway identity is accepted", arguments: IOBackendKind.allCases)
    func workloadRefusedByDefault(kind: IOBackendKind) throws {
        let echo = try BackendServer(behavior: .echo)
        defer { echo.stop() }
        let gw = try Gateway(kind: kind, services: [try Self.echoService(echo)])
        #expect(try gw.echo(leaf: "west") == "hello west\n")
        #expect(try gw.echo(leaf: "other") == nil)
        #expect(waitUntil(timeout: 5) { gw.counter(.gatewayRefusedNotAllowed) == 1 })
    }

    @Test("a workload identity that the service's allow: names is accepted", arguments: IOBackendKind.allCases)
    func workloadNamedByAllow(kind: IOBackendKind) throws {
        let echo = try BackendServer(behavior: .echo)
        defer { echo.stop() }
        let gw = try Gateway(kind: kind, services: [try Self.echoService(echo, allowed: [StreamTestPKI.otherIdentity])])
        #expect(try gw.echo(leaf: "other") == "hello other\n")
        #expect(gw.counter(.gatewayRefusedNotAllowed) == 0)
    }

    @Test("acceptWorkloads: true accepts any identity the bundle vouches for", arguments: IOBackendKind.allCases)
    func acceptWorkloads(kind: IOBackendKind) throws {
        let echo = try BackendServer(behavior: .echo)
        defer { echo.stop() }
        let gw = try Gateway(kind: kind, policy: InboundPolicy(acceptWorkloads: true), services: [try Self.echoService(echo)])
        #expect(try gw.echo(leaf: "other") == "hello other\n")
    }

    @Test("a port the service does not have is unknown_port; a port without endpoints is no_endpoint", arguments: IOBackendKind.allCases)
    func unknownPort(kind: IOBackendKind) throws {
        let echo = try BackendServer(behavior: .echo)
        defer { echo.stop() }
        let gw = try Gateway(kind: kind, services: [try Self.echoService(echo)])
        #expect(try gw.echo(leaf: "west", port: 7001) == nil)
        #expect(waitUntil(timeout: 5) { gw.counter(.gatewayRefusedUnknownPort) == 1 })
        #expect(try gw.echo(leaf: "west", port: 7002) == nil)
        #expect(waitUntil(timeout: 5) { gw.counter(.gatewayRefusedNoEndpoint) == 1 })
        #expect(gw.counter(.gatewayRefusedUnknownPort) == 1)
    }

    // MARK: - Discover

    @Test("a refused discover stream is reset at once (the loop hands the socket over; io_uring must not keep it)", arguments: IOBackendKind.allCases)
    func refusedDiscoverIsReset(kind: IOBackendKind) throws {
        let gw = try Gateway(kind: kind, services: [])
        // A workload identity, and a gateway identity asking as another cluster.
        for (leaf, cluster) in [("other", "west"), ("west", "north")] {
            let stream = try gw.open(leaf: leaf, header: .discover(cluster: cluster))
            defer { stream.close() }
            let started = ContinuousClock.now
            #expect(Self.ending(stream, seconds: 2) == "reset", "\(leaf) as \(cluster)")
            #expect(ContinuousClock.now - started < .seconds(1), "\(leaf) as \(cluster): \(ContinuousClock.now - started)")
        }
        #expect(gw.discovery.refusals["not_gateway"] == 1)
        #expect(gw.discovery.refusals["cluster_mismatch"] == 1)
        // The gateway's own kind of peer still gets its stream.
        let west = try gw.open(leaf: "west", header: .discover(cluster: "west"))
        defer { west.close() }
        let bytes = try west.read(deadline: .now + .seconds(3))
        guard case .complete(.snapshotBegin, _) = DiscoveryMessage.decode(bytes) else {
            Issue.record("no snapshot for west: \(bytes)")
            return
        }
    }
}
