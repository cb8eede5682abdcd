#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import MeshgateLoop

/// A running `meshgate proxy`: N loop threads, each with its own backend and its own
/// SO_REUSEPORT listener on the same address, sharing nothing but a connection count.
public final class ProxyServer: @unchecked Sendable {
    /// The configuration it runs with.
    public let configuration: ProxyConfiguration
    /// The backend the loops use, and why it was chosen.
    public let backend: (kind: IOBackendKind, reason: String)
    /// The bound listen address (the real port when 0 was asked for).
    public private(set) var boundAddress: SocketAddress

    private let logger: Logger
    private let shared: SharedProxyState
    /// The connection limit in force: `--max-connections`, lowered when the descriptor limit
    /// could not hold that many (each connection needs two descriptors).
    public let effectiveMaxConnections: Int
    /// RLIMIT_NOFILE in force (the soft limit, raised to the hard one at start).
    public let descriptorLimit: Int
    /// Descriptors the data plane leaves to the control plane (admin endpoint, probes, discover
    /// streams, file reloads): the last ones below `descriptorLimit`.
    public var descriptorReserve: Int { DescriptorBudget.controlReserve(limit: descriptorLimit) }
    /// Whether TLS sides use kernel TLS, for the start-up log line.
    public let kernelTLSStatus: String
    private var controls: [LoopControl] = []
    private var loopCounters: [ProxyCounters] = []
    private var threads: [Thread] = []
    private let finished = DispatchGroup()
    private let lock = NSLock()
    private var draining = false

    /// Binds the listeners (so address errors surface here) without starting the loops.
    public init(configuration: ProxyConfiguration, logger: Logger) throws {
        precondition(configuration.threads >= 1 && (configuration.gateway != nil || !configuration.upstreams.isEmpty))
        self.configuration = configuration
        self.logger = logger
        self.backend = configuration.backend.resolve()
        self.boundAddress = configuration.listen
        let limit = DescriptorBudget.raiseSoftLimit()
        let budget = DescriptorBudget.connections(limit: limit, threads: configuration.threads)
        effectiveMaxConnections = max(1, min(configuration.maxConnections, budget))
        descriptorLimit = limit
        let ceiling = DescriptorBudget.ceiling(limit: limit)
        let tls = configuration.tls
        if tls.downstream == nil && tls.upstream == nil && configuration.gateway == nil {
            kernelTLSStatus = "no TLS"
            shared = SharedProxyState(maxConnections: effectiveMaxConnections, logger: logger, descriptorCeiling: ceiling)
        } else if !tls.kernelTLS {
            kernelTLSStatus = "off (TLS runs in user space)"
            shared = SharedProxyState(maxConnections: effectiveMaxConnections, logger: logger, descriptorCeiling: ceiling)
        } else {
            switch KernelTLS.probe() {
            case .available:
                kernelTLSStatus = "available (sockets switch to kTLS + splice after the handshake)"
                shared = SharedProxyState(
                    maxConnections: effectiveMaxConnections, logger: logger, kernelTLS: true, descriptorCeiling: ceiling)
            case .unavailable(let e):
                kernelTLSStatus = "unavailable (TCP_ULP tls: \(e)); TLS runs in user space"
                shared = SharedProxyState(
                    maxConnections: effectiveMaxConnections, logger: logger, kernelTLSMissing: true, descriptorCeiling: ceiling)
            }
        }
        var listeners: [Int32] = []
        do {
            var address = configuration.listen
            for _ in 0..<configuration.threads {
                let fd = try Socket.listen(on: address, reusePort: true)
                listeners.append(fd)
                if address.port == 0 {
                    // Every loop must listen on the same port: pin the one the kernel chose.
                    address = try Socket.localAddress(fd)
                }
            }
            boundAddress = try Socket.localAddress(listeners[0])
        } catch {
            for fd in listeners { Socket.close(fd) }
            throw error
        }
        self.listeners = listeners
        for _ in 0..<configuration.threads {
            controls.append(LoopControl())
            loopCounters.append(ProxyCounters())
        }
    }

    private var listeners: [Int32]

    /// Starts the loop threads. Throws when a loop's backend cannot be created.
    public func start() throws {
        let ready = DispatchSemaphore(value: 0)
        let failures = ErrorBox()
        let pinning = LoopPinning.plan(configuration.cpuAffinity, threads: configuration.threads)
        if let reason = pinning.notPinnedReason { logger.notice("\(reason)") }
        for i in 0..<configuration.threads {
            finished.enter()
            let listener = listeners[i]
            let control = controls[i]
            let counters = loopCounters[i]
            configuration.gateway?.publisher.addWaker { control.send(.routes) }
            let config = configuration
            let kind = backend.kind
            let shared = self.shared
            var l = logger
            l[metadataKey: "loop"] = "\(i)"
            let loopLogger = l
            let cpu = pinning.cpu(forLoop: i)
            let t = Thread { [finished] in
                defer { finished.leave() }
                Self.placeLoopThread(index: i, cpu: cpu, logger: loopLogger)
                do {
                    switch kind {
                    case .uring:
                        let b = try UringBackend()
                        if i == 0 { loopLogger.debug("io_uring ring set up with \(b.setupDescription)") }
                        control.attach(b.waker)
                        let loop = ProxyLoop(backend: b, index: i, listener: listener, config: config, control: control,
                                             counters: counters, shared: shared, logger: loopLogger)
                        ready.signal()
                        loop.run()
                    case .epoll:
                        let b = try EpollBackend()
                        control.attach(b.waker)
                        let loop = ProxyLoop(backend: b, index: i, listener: listener, config: config, control: control,
                                             counters: counters, shared: shared, logger: loopLogger)
                        ready.signal()
                        loop.run()
                    }
                } catch {
                    failures.record(error)
                    Socket.close(listener)
                    ready.signal()
                }
            }
            t.stackSize = 1 << 20
            threads.append(t)
            t.start()
        }
        for _ in 0..<configuration.threads { ready.wait() }
        if let firstError = failures.first {
            for c in controls { c.send(.stop) }
            throw firstError
        }
    }

    /// Names the calling loop thread `meshgate-loop-<index>` for the kernel (ps, top, perf) and
    /// pins it to `cpu` when one is planned.
    private static func placeLoopThread(index: Int, cpu: Int?, logger: Logger) {
        try? CurrentThread.setName(CurrentThread.name(prefix: "meshgate-loop-", index: index))
        guard let cpu else { return }
        do {
            try CurrentThread.pin(toCPU: cpu)
            logger.info("loop \(index) pinned to CPU \(cpu)")
        } catch {
            logger.warning("loop \(index) not pinned to CPU \(cpu): sched_setaffinity: \(error)")
        }
    }

    /// Stops accepting and lets open connections finish; loops end when they have none.
    public func drain() {
        lock.lock()
        draining = true
        lock.unlock()
        for c in controls { c.send(.drain) }
        // Route listeners close once no loop holds them (loops let go as they drain).
        configuration.gateway?.publisher.closeRoutes()
    }

    /// Ends every loop now, resetting open connections.
    public func stop() {
        for c in controls { c.send(.stop) }
    }

    /// Blocks until every loop has ended, or `timeout` passes. Returns true when all ended.
    public func wait(timeout: Duration? = nil) -> Bool {
        if let timeout {
            return finished.wait(timeout: .now() + .nanoseconds(Int(timeout.nanoseconds))) == .success
        }
        finished.wait()
        return true
    }

    /// Waits without blocking a Swift concurrency thread.
    public func waitAsync(timeout: Duration? = nil) async -> Bool {
        await withCheckedContinuation { (k: CheckedContinuation<Bool, Never>) in
            DispatchQueue.global().async { k.resume(returning: self.wait(timeout: timeout)) }
        }
    }

    /// The counters summed over all loops.
    public var stats: ProxyStatsSnapshot { ProxyStatsSnapshot(loops: loopCounters) }

    /// Gateway traffic by series (direction, cluster, service), the latency histograms and the
    /// connections by path, summed over all loops. Any thread; reads only atomics.
    public func traffic() -> TrafficSnapshot {
        var series: [TrafficKey: TrafficCounts] = [:]
        for s in shared.trafficSeries.all { series[s.key] = s.counts }
        let loops = loopCounters.map(\.traffic)
        var paths: [String: UInt64] = [:]
        for (i, name) in LoopTrafficStats.pathNames.enumerated() {
            paths[name] = loops.reduce(0) { $0 &+ $1.paths[i].load(ordering: .relaxed) }
        }
        var pools: [String: PoolCounts] = [:]
        for s in shared.poolSeries.all { pools[s.cluster] = s.counts }
        return TrafficSnapshot(
            series: series, handshake: .merged(loops.map { ($0.handshake, $0.handshakeSum) }),
            connect: .merged(loops.map { ($0.connect, $0.connectSum) }), paths: paths, pools: pools)
    }
}

/// The first error any loop thread reported while starting.
private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?

    func record(_ e: Error) {
        lock.lock()
        if error == nil { error = e }
        lock.unlock()
    }

    var first: Error? {
        lock.lock()
        defer { lock.unlock() }
        return error
    }
}
