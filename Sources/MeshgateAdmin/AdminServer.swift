import Foundation
import Logging
import MeshgateControl
import MeshgateProxy
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

#if canImport(Glibc)
    import Glibc
#endif

/// The gateway's admin HTTP endpoint (`admin.listen`, docs/operations.md): `/live`, `/ready`,
/// `/status` (JSON) and `/metrics` (Prometheus), on an event loop group of its own (one
/// thread), so that nothing it does can hold up the data plane's loops, and nothing a client
/// does can reach beyond its own connection.
public final class AdminServer: @unchecked Sendable {
    /// Connections open at once at most. When all are taken, a new connection takes the slot of
    /// the one that has waited longest for its next request (that one is closed); it is closed
    /// itself only when every other connection is being answered.
    public static let maxConnections = 64
    /// Each request must arrive whole (head and body) within this time of the accept, or of the
    /// answer to the previous request on the connection; bytes trickling in do not extend it.
    public static let requestTimeout: TimeAmount = .seconds(5)
    /// Connections the kernel queues for accept. Far above `maxConnections`: a burst of clients
    /// refused or evicted at the slots reconnects at once, and a probe whose SYN finds the accept
    /// queue full is dropped and retried a second later, past a kubelet's 1 s probe timeout.
    public static let acceptBacklog: Int32 = 1024

    private let router: AdminRouter
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    // Invariant: `channel` is set once by `start` and read by `shutdown`, both under `lock`.
    private let lock = NSLock()
    private var channel: Channel?
    private let slots = AdminConnectionSlots(capacity: AdminServer.maxConnections)
    private let requestTimeout: TimeAmount
    /// Slow-client notices (evicted, timed out, refused): one line per reason per 10 s.
    private let notices: RateLimitedLog

    /// An admin server for `controller`. `traffic` gives the data plane's traffic by series
    /// (`ProxyServer.traffic()`), or nil when there is none: routes' `active` and the labelled
    /// traffic series of `/metrics` come from it. `metricsRegistry`, when given, is emitted after
    /// the gateway's own series (what swift-metrics users report; see `bootstrapMetricsSystem`).
    /// `requestTimeout` is `AdminServer.requestTimeout` unless a test needs another.
    public init(
        controller: GatewayController, traffic: @escaping @Sendable () -> TrafficSnapshot?, logger: Logger,
        metricsRegistry: PrometheusCollectorRegistry? = nil, requestTimeout: TimeAmount = AdminServer.requestTimeout
    ) {
        self.logger = logger
        self.requestTimeout = requestTimeout
        notices = RateLimitedLog(logger: logger, interval: .seconds(10))
        router = AdminRouter(controller: controller, traffic: traffic, exporter: PrometheusExporter(metricsRegistry: metricsRegistry))
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// Makes swift-metrics report into a registry of its own, emitted by `/metrics` after the
    /// gateway's series; pass it to `init`. The gateway command does this; the bootstrap happens
    /// once per process (later calls return the same registry).
    public static func bootstrapMetricsSystem() -> PrometheusCollectorRegistry {
        processMetricsRegistry
    }

    private static let processMetricsRegistry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    /// Binds `host:port` (port 0: any free port) and starts serving. `field` names the setting
    /// the address came from, for the error.
    @discardableResult
    public func start(host: String, port: Int, field: String = "admin.listen") throws(AdminServerError) -> (host: String, port: Int) {
        let router = self.router
        let slots = self.slots
        let notices = self.notices
        let requestTimeout = self.requestTimeout
        let seconds = Double(requestTimeout.nanoseconds) / 1e9
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: AdminServer.acceptBacklog)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    switch slots.admit(channel) {
                    case .refused:
                        notices.warning("refused", "admin: \(slots.capacity) connections are being answered; closing a new one")
                        channel.close(promise: nil)
                        return
                    case .admitted(let evicted):
                        if let evicted {
                            notices.warning(
                                "evicted",
                                "admin: \(slots.capacity) connections open; closed the one waiting longest for a request to make room")
                            evicted.close(promise: nil)
                        }
                    }
                    channel.closeFuture.whenComplete { _ in slots.release(channel) }
                    let sync = channel.pipeline.syncOperations
                    var limits = NIOHTTPDecoderLimitConfiguration()
                    limits.maxHeaderFieldSize = 8 << 10
                    limits.maxHeaderListSize = 16 << 10
                    limits.maxHeaderFieldCount = 100
                    try sync.configureHTTPServerPipeline(
                        withErrorHandling: false, withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
                    try sync.addHandler(
                        AdminHTTPHandler(router: router, slots: slots, requestTimeout: requestTimeout) {
                            notices.warning("timeout", "admin: closed a connection that sent no whole request within \(seconds) s")
                        })
                }
            }
        let address = HostPort(host: host, port: UInt16(clamping: max(port, 0))).description
        let bound: Channel
        do {
            bound = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw AdminServerError(
                field: field, address: port == 0 ? "\(host):0" : address, reason: Self.describe(error),
                addressInUse: (error as? IOError)?.errnoCode == EADDRINUSE)
        }
        lock.lock()
        channel = bound
        lock.unlock()
        let local = bound.localAddress
        let result = (host: local?.ipAddress ?? host, port: local?.port ?? port)
        logger.info("admin endpoint on \(Self.text(result)): /live /ready /status /metrics")
        return result
    }

    /// The address it listens on (nil before `start`).
    public var localAddress: (host: String, port: Int)? {
        lock.lock()
        defer { lock.unlock() }
        guard let a = channel?.localAddress else { return nil }
        return (a.ipAddress ?? "?", a.port ?? 0)
    }

    /// Stops listening, closes open admin connections and ends the event loop thread.
    public func shutdown() async {
        let c = takeChannel()
        try? await c?.close()
        try? await group.shutdownGracefully()
    }

    /// `shutdown()` for callers outside Swift concurrency (never from the admin event loop).
    public func syncShutdown() {
        try? takeChannel()?.close().wait()
        try? group.syncShutdownGracefully()
    }

    private func takeChannel() -> Channel? {
        lock.lock()
        defer { lock.unlock() }
        let c = channel
        channel = nil
        return c
    }

    private static func text(_ a: (host: String, port: Int)) -> String {
        a.host.contains(":") ? "[\(a.host)]:\(a.port)" : "\(a.host):\(a.port)"
    }

    private static func describe(_ error: Error) -> String {
        if let io = error as? IOError {
            switch io.errnoCode {
            case EADDRINUSE: return "address already in use (another process listens there)"
            case EADDRNOTAVAIL: return "address not available on this host"
            case EACCES: return "permission denied"
            default: return "\(io)"
            }
        }
        return "\(error)"
    }
}

/// The admin endpoint could not listen where it was told to.
public struct AdminServerError: Error, CustomStringConvertible, Sendable {
    /// The setting the address came from (`admin.listen`).
    public let field: String
    public let address: String
    public let reason: String
    /// Another socket holds the address (EADDRINUSE).
    public let addressInUse: Bool

    public var description: String { "cannot serve the admin endpoint on \(field) \(address): \(reason)" }
}
