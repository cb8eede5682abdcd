import Foundation
import Logging
import MeshgateLoad
import MeshgateLoop
import MeshgateTestKit
import MeshgateTLS
import MeshgateWire
import Testing
@testable import MeshgateProxy

/// Warm pools on a real gateway-mode server that is its own remote (a route whose gateway is
/// the server's own inbound port, mTLS with the east identity both ways): the same process holds
/// the pooled connections (originating side) and their peers (receiving side), so both sides'
/// counters are read from one `stats`.
@Suite(.serialized) struct WarmPoolTests {
    /// A running self-linked gateway with one pooled route to an echo service.
    final class Gateway {
        let echo: BackendServer
        let publisher: RouteTablePublisher
        let server: ProxyServer
        let route: GatewayRoute
        let port: UInt16
        let service: ExportedService

        init(
            kind: IOBackendKind, pool: WarmPoolPolicy, headerTimeout: Duration = .seconds(5), pooledIdle: Duration = .seconds(30),
            maxConnections: Int = 100_000
        ) throws {
            echo = try BackendServer(behavior: .echo)
            publisher = RouteTablePublisher(
                bindAddress: try SocketAddress.resolve("127.0.0.1:0"), portRange: 41_300...41_399,
                credentials: try StreamTestPKI.gatewayCredentials(), loops: 1)
            var logger = Logger(label: "warm-pool-test")
            logger.logLevel = .critical
            let config = ProxyConfiguration(
                listen: try SocketAddress.resolve("127.0.0.1:0"), upstreams: [], threads: 1, backend: kind == .uring ? .uring : .epoll,
                maxConnections: maxConnections, tls: ProxyTLSConfiguration(handshakeTimeout: .seconds(5), kernelTLS: false),
                gateway: GatewaySettings(publisher: publisher, headerTimeout: headerTimeout, pooledIdleTimeout: pooledIdle))
            server = try ProxyServer(configuration: config, logger: logger)
            try server.start()
            service = ExportedService(
                namespace: "default", name: "echo", exported: true, allowed: nil,
                endpoints: [7000: [try SocketAddress.resolve(host: "127.0.0.1", port: echo.port)]])
            route = Self.route(server.boundAddress, pool: pool, alive: true)
            let report = publisher.publish(routes: [route], services: [service])
            port = try #require(report.listening[route.key]?.port)
        }

        static func route(_ inbound: SocketAddress, pool: WarmPoolPolicy?, alive: Bool, more: [SocketAddress] = []) -> GatewayRoute {
            GatewayRoute(
                key: "default/echo-west:7000", cluster: "west", gateways: alive ? [inbound] + more : [],
                expectedIdentity: StreamTestPKI.eastIdentity, target: ConnectTarget(namespace: "default", name: "echo", port: 7000),
                alive: alive, pool: pool)
        }

        /// Republishes the route (up or down, with or without a pool, with `more` gateway
        /// addresses after the server's own), optionally new credentials.
        func republish(pool: WarmPoolPolicy?, alive: Bool = true, more: [SocketAddress] = [], credentials: GatewayCredentials? = nil) {
            _ = publisher.publish(
                routes: [Self.route(server.boundAddress, pool: pool, alive: alive, more: more)], services: [service], credentials: credentials)
        }

        subscript(_ name: ProxyCounters.Name) -> UInt64 { server.stats[name] }

        /// Echo-checked connections through the route, one after the other.
        func run(_ count: Int) -> Int {
            (0..<count).reduce(0) { n, _ in
                n + IntegrityRun.run(target: Endpoint(host: "127.0.0.1", port: port), sizes: [4096], concurrency: 1, deadline: .seconds(10)).ok
            }
        }

        func stop() {
            server.stop()
            _ = server.wait(timeout: .seconds(5))
            echo.stop()
        }
    }

    @Test(arguments: IOBackendKind.allCases)
    func fillsSurvivesTheHeaderTimeoutAndCarriesClients(kind: IOBackendKind) throws {
        let gw = try Gateway(kind: kind, pool: WarmPoolPolicy(idle: 2, maxAge: .seconds(60)), headerTimeout: .milliseconds(300))
        defer { gw.stop() }
        #expect(pollUntil { gw[.gatewayPoolIdle] == 2 && gw[.gatewayPoolInboundIdle] == 2 }, "\(gw.server.stats.values)")
        // Past the header timeout the pooled connections are still there on both sides.
        Thread.sleep(forTimeInterval: 1.0)
        #expect(gw[.gatewayPoolIdle] == 2)
        #expect(gw[.gatewayPoolInboundIdle] == 2)
        #expect(gw[.gatewayRefusedHeaderTimeout] == 0)
        #expect(gw[.gatewayPoolClosedByPeer] == 0)
        #expect(gw[.buffersInUse] == 0, "waiting pooled connections hold no buffer on either side")

        let handshakesBefore = gw[.tlsHandshakesDownstream]
        #expect(gw.run(5) == 5, "every echo checked")
        #expect(gw[.gatewayPoolHits] >= 1)
        #expect(gw[.gatewayPoolHits] + gw[.gatewayPoolMisses] == 5)
        // A client served from the pool made no handshake of its own: the receiving side saw
        // one handshake per replacement (hit) or per miss, never more.
        #expect(pollUntil { gw[.gatewayPoolIdle] == 2 })
        #expect(gw[.tlsHandshakesDownstream] - handshakesBefore == gw[.gatewayPoolHits] + gw[.gatewayPoolMisses])
        #expect(pollUntil { gw[.gatewayPoolInboundHeld] == gw[.gatewayPoolOpened] })
        #expect(gw[.gatewayRefused] == 0, "\(gw.server.stats.values)")
        // The link's own series (what /status shows with the link) agrees with the totals:
        // this gateway's only pool is the one to west.
        let west = try #require(gw.server.traffic().pools["west"], "a pool series for west")
        for name in PoolSeries.names {
            #expect(west[name] == gw[name], "\(name): west \(west[name]), all \(gw[name])")
        }
        #expect(west[.gatewayPoolIdle] == 2 && west[.gatewayPoolHits] >= 1)
    }

    @Test(arguments: IOBackendKind.allCases)
    func gatewaysThatChangeKeepTheConnectionsToAddressesStillThere(kind: IOBackendKind) throws {
        let policy = WarmPoolPolicy(idle: 2, maxAge: .seconds(60))
        let gw = try Gateway(kind: kind, pool: policy)
        defer { gw.stop() }
        #expect(pollUntil { gw[.gatewayPoolIdle] == 2 && gw[.gatewayPoolOpened] == 2 })
        // A second gateway address joins the link (a live gateway set changes like this); nothing
        // listens there, so its opens fail and back off.
        let dead = try SocketAddress.resolve(host: "127.0.0.1", port: LoopbackPorts.free())
        gw.republish(pool: policy, more: [dead])
        #expect(pollUntil { gw[.gatewayPoolFailed] >= 2 }, "the dead address's opens failed: \(gw.server.stats.values)")
        #expect(gw[.gatewayPoolOpened] == 2, "the connections to the first address moved to the new pool, none reopened")
        #expect(gw[.gatewayPoolIdle] == 2 && gw[.gatewayPoolDrained] == 0, "\(gw.server.stats.values)")
        // The dead address's back-off holds up only its own opens: a client takes a connection
        // and the first address is refilled at once.
        #expect(gw.run(1) == 1)
        #expect(gw[.gatewayPoolHits] == 1)
        #expect(pollUntil(seconds: 3) { gw[.gatewayPoolIdle] == 2 && gw[.gatewayPoolOpened] == 3 }, "\(gw.server.stats.values)")
        // The address leaves again: still nothing reopened (at most its opens in flight drained).
        gw.republish(pool: policy)
        Thread.sleep(forTimeInterval: 0.3)
        #expect(gw[.gatewayPoolOpened] == 3 && gw[.gatewayPoolIdle] == 2, "\(gw.server.stats.values)")
        #expect(gw[.gatewayPoolDrained] <= 2, "only opens to the dead address in flight: \(gw.server.stats.values)")
        #expect(gw.run(1) == 1)
        #expect(gw[.gatewayPoolHits] == 2)
    }

    @Test(arguments: IOBackendKind.allCases)
    func drainsWhenTheLinkGoesDownOrTheIdentityIsReloaded(kind: IOBackendKind) throws {
        let policy = WarmPoolPolicy(idle: 3, maxAge: .seconds(60))
        let gw = try Gateway(kind: kind, pool: policy)
        defer { gw.stop() }
        #expect(pollUntil { gw[.gatewayPoolIdle] == 3 })

        gw.republish(pool: policy, alive: false)
        #expect(pollUntil { gw[.gatewayPoolIdle] == 0 && gw[.gatewayPoolInboundIdle] == 0 }, "\(gw.server.stats.values)")
        #expect(gw[.gatewayPoolDrained] == 3)
        #expect(gw.server.traffic().pools["west"]?[.gatewayPoolDrained] == 3)
        #expect(gw.server.traffic().pools["west"]?[.gatewayPoolIdle] == 0)
        Thread.sleep(forTimeInterval: 1.2)  // a sweep: nothing is opened while the link is down
        #expect(gw[.gatewayPoolIdle] == 0 && gw[.gatewayPoolOpening] == 0)

        gw.republish(pool: policy, alive: true)
        #expect(pollUntil { gw[.gatewayPoolIdle] == 3 })
        let opened = gw[.gatewayPoolOpened]
        gw.republish(pool: policy, credentials: try StreamTestPKI.gatewayCredentials())  // new contexts: a reload
        #expect(pollUntil { gw[.gatewayPoolDrained] == 6 && gw[.gatewayPoolIdle] == 3 }, "\(gw.server.stats.values)")
        #expect(gw[.gatewayPoolOpened] == opened + 3)

        // The pool turned off: drained, not refilled.
        gw.republish(pool: nil)
        #expect(pollUntil { gw[.gatewayPoolIdle] == 0 && gw[.gatewayPoolDrained] == 9 })
        // A pool's clean close is not a refusal on the receiving side.
        #expect(pollUntil { gw[.gatewayPoolInboundIdle] == 0 })
        #expect(gw[.gatewayRefused] == 0, "\(gw.server.stats.values)")
        #expect(gw.run(1) == 1, "without a pool, clients connect as before")
    }

    @Test func retiresAtMaxAgeAndWhenThePeerReapsIt() throws {
        let gw = try Gateway(kind: .uring, pool: WarmPoolPolicy(idle: 2, maxAge: .seconds(1)), pooledIdle: .seconds(30))
        defer { gw.stop() }
        #expect(pollUntil { gw[.gatewayPoolIdle] == 2 })
        #expect(pollUntil(seconds: 5) { gw[.gatewayPoolExpired] >= 2 }, "\(gw.server.stats.values)")
        #expect(pollUntil { gw[.gatewayPoolIdle] == 2 }, "replaced")

        // The receiving side's own limit, shorter than maxAge: it closes them, the pool notices.
        let reaped = try Gateway(kind: .epoll, pool: WarmPoolPolicy(idle: 1, maxAge: .seconds(60)), pooledIdle: .milliseconds(1500))
        defer { reaped.stop() }
        #expect(pollUntil { reaped[.gatewayPoolIdle] == 1 })
        #expect(pollUntil(seconds: 6) { reaped[.gatewayPoolClosedByPeer] >= 1 }, "\(reaped.server.stats.values)")
        #expect(reaped[.idleTimeouts] >= 1, "the receiving side's pooled idle limit")
        #expect(reaped[.gatewayRefusedHeaderTimeout] == 0)
        #expect(pollUntil { reaped[.gatewayPoolIdle] == 1 }, "refilled")
        #expect(reaped.run(2) == 2)
    }

    @Test func drainingTheGatewayClosesItsPoolsAtOnce() throws {
        let gw = try Gateway(kind: .uring, pool: WarmPoolPolicy(idle: 4, maxAge: .seconds(60)))
        defer { gw.echo.stop() }
        #expect(pollUntil { gw[.gatewayPoolIdle] == 4 })
        let began = Date()
        gw.server.drain()
        #expect(gw.server.wait(timeout: .seconds(3)), "no pooled connection holds the drain up")
        #expect(Date().timeIntervalSince(began) < 3)
        #expect(gw[.gatewayPoolDrained] >= 4)
    }

    @Test(arguments: IOBackendKind.allCases)
    func aDrainingPeerReleasesThePooledConnectionsItHolds(kind: IOBackendKind) throws {
        // Two gateways: east's route (pooled) → west's inbound → echo. West's own route points
        // nowhere useful; only its inbound side and its held pooled connections matter.
        let east = try Gateway(kind: kind, pool: WarmPoolPolicy(idle: 2, maxAge: .seconds(60)))
        defer { east.stop() }
        let west = try Gateway(kind: kind, pool: WarmPoolPolicy(idle: 1, maxAge: .seconds(60)))
        defer { west.stop() }
        let toWest = GatewayRoute(
            key: "default/echo-west2:7000", cluster: "west2", gateways: [west.server.boundAddress], expectedIdentity: StreamTestPKI.eastIdentity,
            target: ConnectTarget(namespace: "default", name: "echo", port: 7000), pool: WarmPoolPolicy(idle: 2, maxAge: .seconds(60)))
        let report = east.publisher.publish(routes: [toWest], services: [])
        let port = try #require(report.listening[toWest.key]?.port)
        // West holds its own pool's connection and east's two.
        #expect(pollUntil { west[.gatewayPoolInboundIdle] == 3 && east[.gatewayPoolIdle] == 2 }, "\(west.server.stats.values)")
        let closedBefore = east[.gatewayPoolClosedByPeer]

        west.server.drain()
        // East's pooled connections to west are let go at once (close_notify), not left to carry
        // a client into a draining gateway.
        #expect(pollUntil(seconds: 3) { east[.gatewayPoolClosedByPeer] >= closedBefore + 2 && east[.gatewayPoolIdle] == 0 }, "\(east.server.stats.values)")
        #expect(west[.gatewayPoolInboundIdle] == 0)
        let began = Date()
        let served = (try? Self.echoOnce(port: port)).map { fd -> Bool in
            _ = Glibc.close(fd)
            return true
        } ?? false
        #expect(!served, "a new client is not served by a draining gateway")
        #expect(Date().timeIntervalSince(began) < 2, "and fails fast")
    }

    @Test func pooledConnectionsGiveWayToClientsAtTheConnectionLimit() throws {
        // 10 connections in all. Each held client takes two (its outbound connection and, this
        // gateway being its own remote, the inbound one); pooled connections (and their inbound
        // peers) fill what is left, but never the last tenth.
        let gw = try Gateway(kind: .epoll, pool: WarmPoolPolicy(idle: 4, maxAge: .seconds(60)), maxConnections: 10)
        defer { gw.stop() }
        #expect(pollUntil { gw[.gatewayPoolIdle] >= 1 }, "\(gw.server.stats.values)")
        #expect(gw[.active] <= 9, "pools leave the last tenth to clients")
        var held: [Int32] = []
        defer { held.forEach { _ = Glibc.close($0) } }
        for i in 0..<5 {
            let fd = try Self.echoOnce(port: gw.port)
            held.append(fd)
            #expect(fd >= 0, "client \(i) was served while pooled connections held slots")
        }
        #expect(gw[.gatewayPoolDrained] >= 1, "a pooled connection gave way: \(gw.server.stats.values)")
        #expect(gw[.gatewayPoolIdle] == 0)
    }

    /// Connects to the route, sends 16 bytes and reads them back within 3 s; the open socket.
    static func echoOnce(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        let payload = Array("0123456789abcdef".utf8)
        guard send(fd, payload, payload.count, 0) == payload.count else { throw POSIXError(.EPIPE) }
        var got: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while got.count < payload.count {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { throw POSIXError(.ETIMEDOUT) }
            got += buffer[0..<n]
        }
        guard got == payload else { throw POSIXError(.EBADMSG) }
        return fd
    }
}
