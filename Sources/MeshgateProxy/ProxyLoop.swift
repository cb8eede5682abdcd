#if canImport(Glibc)
import Glibc
#endif
import Logging
import MeshgateLoop
import MeshgateTLS

/// One loop thread's proxy: its listener, its connections, its pipes. Shared nothing with
/// other loops except the process-wide connection count. Everything here runs on the loop's
/// own thread; other threads talk to it only through `LoopControl` (it is not `Sendable`, and
/// debug builds check its entry points against `owner`).
final class ProxyLoop<Backend: EventBackend> {
    let backend: Backend
    let index: Int
    let config: ProxyConfiguration
    let control: LoopControl
    let counters: ProxyCounters
    /// This loop's latency histograms and path counts.
    let traffic: LoopTrafficStats
    /// Series this loop has used (the shared registry is asked once per series).
    var trafficCache: [TrafficKey: TrafficSeries] = [:]
    let logger: Logger
    let shared: SharedProxyState

    /// The loop's own listener (`meshgate proxy`, a gateway's inbound port) until it closes.
    var listener: Descriptor?
    let slab: ConnectionSlab
    let pipes: PipePool
    let buffers = BufferPool()
    /// The configured upstreams of `meshgate proxy` (empty for a gateway).
    let balancer: UpstreamBalancer
    let limits: RateLimitedLog
    /// Gateway mode: routes, listeners, and the inbound side's services.
    let gateway: GatewayLoopState?

    /// The thread `run` runs on.
    var owner = LoopThreadOwner()
    /// Loop clock, read once per batch of completions.
    var now: Int64 = 0
    var clockStale = true
    let idleTimeout: Int64
    let connectTimeout: Int64

    var accepting = false
    var acceptMultishot = true
    var acceptPaused = false
    /// Accepting paused because the data plane reached its descriptor share (the control
    /// plane's reserve begins at `shared.descriptorCeiling`): resumes only once a descriptor
    /// below the ceiling is free, so no client is taken just to be given back.
    var reservePaused = false
    /// The descriptor of the last accepted client: near the ceiling, accept one at a time.
    var lastAcceptedFd: Int32 = 0
    /// The one client accepted into the reserve while this loop is paused at its share: held,
    /// like the backlog would, and moved to a number below the ceiling when one frees up.
    var reserveClient: (fd: Int32, route: GatewayRoute?)?
    var draining = false
    var stopping = false
    /// Directions that yielded for fairness and must be pumped again: (slot, generation, toUpstream).
    var runList: [(UInt32, UInt32, Bool)] = []
    var runListSpare: [(UInt32, UInt32, Bool)] = []
    /// Connections waiting for a descriptor for their upstream socket: (slot, generation).
    var parked: [(UInt32, UInt32)] = []
    var retryingParked = false
    /// Accepted clients held while the connection limit is reached (descriptor, and the route
    /// whose listener took it).
    var waitingClients: [(Int32, GatewayRoute?)] = []
    var startingWaiting = false
    /// The sweep timer fired in the current batch of completions.
    var sweepDue = false
    /// TLS handshakes this loop had counted at its last heap trim (``trimHeapAfterHandshakes``).
    var handshakesAtLastTrim: UInt64 = 0
    /// Quiet kernel TLS connections the poke timer found ready by the kernel's account, pumped
    /// once the events already queued are handled: (slot, generation, lastActivity,
    /// readinessEvents) as found.
    var pokeSuspects: [(UInt32, UInt32, Int64, UInt32)] = []

    typealias K = ProxyLoopConstants

    /// Ciphertext read from a TLS socket on its way into OpenSSL, and kTLS control records:
    /// used and emptied within one call, so one per loop.
    let tlsScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: K.tlsScratchSize, alignment: 16)
    let handshakeTimeout: Int64
    /// Seals and opens user-space TLS records for every connection of this loop.
    let crypter: TLSRecordCrypter

    init(backend: Backend, index: Int, listener: Int32, config: ProxyConfiguration, control: LoopControl,
         counters: ProxyCounters, shared: SharedProxyState, logger: Logger) {
        self.backend = backend
        self.index = index
        self.listener = Descriptor(listener)
        self.config = config
        self.control = control
        self.counters = counters
        self.traffic = counters.traffic
        self.shared = shared
        self.logger = logger
        let perLoop = max(64, min(shared.maxConnections, config.maxConnections) + 64)
        slab = ConnectionSlab(capacity: min(perLoop, 1 << 20))
        pipes = PipePool(requestedSize: config.pipeSize, limit: config.maxPipesPerLoop, ceiling: shared.descriptorCeiling)
        balancer = UpstreamBalancer(config.upstreams, startingAt: index)
        gateway = config.gateway.map {
            GatewayLoopState(
                publisher: $0.publisher, discovery: $0.discovery, headerTimeout: $0.headerTimeout, inbound: $0.inbound,
                pooledIdleTimeout: $0.pooledIdleTimeout, loops: config.threads)
        }
        limits = shared.limits
        idleTimeout = config.idleTimeout.nanoseconds
        connectTimeout = config.connectTimeout.nanoseconds
        handshakeTimeout = config.tls.handshakeTimeout.nanoseconds
        // OpenSSL 3 always has AES-GCM; without it no TLS could work at all.
        crypter = try! TLSRecordCrypter()
    }

    deinit { tlsScratch.deallocate() }

    // MARK: - Running

    /// Runs until drained or stopped.
    func run() {
        owner.claim()
        now = MonotonicClock.nanoseconds()
        applySnapshot()
        startAccepting()
        backend.schedule(afterNanoseconds: 1_000_000_000, token: K.sweepTimer)
        if shared.kernelTLS { backend.schedule(afterNanoseconds: K.kernelTLSPokeInterval, token: K.kernelTLSPokeTimer) }
        while !stopping {
            let timeout: Int64? = runList.isEmpty ? nil : 0
            clockStale = true
            do {
                try backend.wait(timeoutNanoseconds: timeout) { completion in
                    self.handle(completion)
                }
            } catch {
                logger.critical("loop \(index): \(error)")
                break
            }
            now = MonotonicClock.nanoseconds()
            if !runList.isEmpty { runYielded() }
            if sweepDue {
                sweepDue = false
                sweep()
                trimHeapAfterHandshakes()
            }
            if !pokeSuspects.isEmpty {
                // Events queued meanwhile first: a connection they move is no stall. epoll
                // reports at most 256 per wait, so look again while events keep coming.
                for _ in 0..<16 {
                    var handled = 0
                    clockStale = true
                    try? backend.wait(timeoutNanoseconds: 0) { completion in
                        handled += 1
                        self.handle(completion)
                    }
                    if handled == 0 { break }
                }
                now = MonotonicClock.nanoseconds()
                pokeSuspected()
            }
            if draining && slab.count == 0 { stopping = true }
        }
        closeEverything()
    }

    @inline(__always)
    func handle(_ c: Completion) {
        owner.assertOwned("a proxy loop")
        if clockStale {
            // The wait may have blocked for a while: read the clock once per batch.
            now = MonotonicClock.nanoseconds()
            clockStale = false
        }
        let t = c.token
        switch t.kind {
        case .downstreamReady, .upstreamReady:
            guard let conn = slab.live(t.slot, generation: t.generation) else { return }
            readiness(conn, slot: t.slot, upstreamSide: t.kind == .upstreamReady, c)
        case .connect:
            guard let conn = slab.live(t.slot, generation: t.generation), case .connecting = conn.pointee.phase else { return }
            connected(conn, slot: t.slot, result: c.result)
        case .accept:
            if t.slot == 0 { accepted(c) } else { routeAccepted(c) }
        case .timer:
            timer(t)
        case .wake:
            commands()
        case .none, .auxReady:
            break
        }
    }
}

@available(*, unavailable)
extension ProxyLoop: Sendable {}
