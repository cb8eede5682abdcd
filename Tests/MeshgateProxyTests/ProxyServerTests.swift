import Foundation
import Logging
import MeshgateLoad
import MeshgateLoop
import Testing
@testable import MeshgateProxy

/// The proxy engine in-process (no CLI), with real sockets, on both backends.
@Suite(.serialized) struct ProxyServerTests {
    func server(upstreams: [Endpoint], kind: IOBackendKind, splice: Bool = true) throws -> ProxyServer {
        let config = ProxyConfiguration(
            listen: try SocketAddress.resolve("127.0.0.1:0"),
            upstreams: try upstreams.map { try SocketAddress.resolve($0.description) },
            threads: 2, backend: kind == .uring ? .uring : .epoll, splice: splice)
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let s = try ProxyServer(configuration: config, logger: logger)
        try s.start()
        return s
    }

    @Test(arguments: IOBackendKind.allCases, [true, false])
    func movesBytesBothWays(kind: IOBackendKind, splice: Bool) throws {
        let echo = try BackendServer(behavior: .echo)
        defer { echo.stop() }
        let s = try server(upstreams: [echo.endpoint], kind: kind, splice: splice)
        defer { s.stop(); _ = s.wait(timeout: .seconds(5)) }
        let target = Endpoint(host: "127.0.0.1", port: s.boundAddress.port)
        let report = IntegrityRun.run(target: target, sizes: [0, 1, 1000, 300_000, 2 << 20], concurrency: 5, deadline: .seconds(60))
        #expect(report.ok == 5, "\(report.failureSamples)")
        let expected: UInt64 = 1 + 1000 + 300_000 + 2 * 1024 * 1024
        #expect(s.stats[.bytesDownstreamToUpstream] == expected)
        if splice {
            #expect(s.stats[.copyPathTransfers] == 0, "splice carried everything")
        }
        // Idle again: no pipes or buffers held.
        #expect(s.stats[.pipesInUse] == 0)
        #expect(s.stats[.buffersInUse] == 0)
    }

    @Test(arguments: IOBackendKind.allCases)
    func drainEndsLoopsWhenIdle(kind: IOBackendKind) throws {
        let echo = try BackendServer(behavior: .echo)
        defer { echo.stop() }
        let s = try server(upstreams: [echo.endpoint], kind: kind)
        s.drain()
        #expect(s.wait(timeout: .seconds(5)), "loops end once drained")
    }

    @Test func busyListenAddressThrows() throws {
        // A plain listener (no SO_REUSEPORT) holds a port; binding it must throw, not crash.
        let fd = try Socket.listen(on: try SocketAddress.resolve("127.0.0.1:0"), reusePort: false)
        defer { close(fd) }
        let port = try Socket.localAddress(fd).port
        let config = ProxyConfiguration(listen: try SocketAddress.resolve("127.0.0.1:\(port)"),
                                        upstreams: [try SocketAddress.resolve("127.0.0.1:1")], threads: 2)
        #expect(throws: SystemCallError.self) { _ = try ProxyServer(configuration: config, logger: Logger(label: "t")) }
    }
}

/// IPv6 end to end: client → [::1] proxy → [::1] backend.
@Suite(.serialized) struct ProxyIPv6Tests {
    @Test(arguments: IOBackendKind.allCases)
    func proxiesOverIPv6(kind: IOBackendKind) throws {
        let echo = try BackendServer(host: "::1", behavior: .echo)
        defer { echo.stop() }
        let config = ProxyConfiguration(
            listen: try SocketAddress.resolve("[::1]:0"),
            upstreams: [try SocketAddress.resolve("[::1]:\(echo.port)")],
            threads: 1, backend: kind == .uring ? .uring : .epoll)
        let s = try ProxyServer(configuration: config, logger: Logger(label: "test"))
        try s.start()
        defer { s.stop(); _ = s.wait(timeout: .seconds(5)) }
        #expect(s.boundAddress.family == AF_INET6)
        let report = IntegrityRun.run(target: Endpoint(host: "::1", port: s.boundAddress.port), sizes: [0, 100, 1 << 20], concurrency: 3, deadline: .seconds(30))
        #expect(report.ok == 3, "\(report.failureSamples)")
    }
}
