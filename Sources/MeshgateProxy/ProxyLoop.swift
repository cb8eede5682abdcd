#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim
import Logging
import MeshgateLoop
import MeshgateTLS

/// One loop thread's proxy: its listener, its connections, its pipes. Shared nothing with
/// other loops except the process-wide connection count. Everything here runs on the loop's
/// own thread; other threads talk to it only through `LoopControl`.
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

    var listener: Int32
    let slab: ConnectionSlab
    let pipes: PipePool
    let buffers = BufferPool()
    /// The configured upstreams of `meshgate proxy` (empty for a gateway).
    let balancer: UpstreamBalancer
    let limits: RateLimitedLog
    /// Gateway mode: routes, listeners, and the inbound side's services.
    let gateway: GatewayLoopState?

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
        self.listener = listener
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
        gateway = config.gateway.map { GatewayLoopState(publisher: $0.publisher, discovery: $0.discovery, headerTimeout: $0.headerTimeout, inbound: $0.inbound) }
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
            }
            if draining && slab.count == 0 { stopping = true }
        }
        closeEverything(reset: true)
    }

    @inline(__always)
    func handle(_ c: Completion) {
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
            guard let conn = slab.live(t.slot, generation: t.generation), conn.pointee.state == .connecting else { return }
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

    // MARK: - Accepting

    func startAccepting() {
        guard !accepting, !draining, listener >= 0 else { return }
        if reservePaused {
            if DescriptorBudget.exhausted(ceiling: shared.descriptorCeiling) || !admitReserveClient() {
                if !acceptPaused {
                    acceptPaused = true
                    backend.schedule(afterNanoseconds: K.reserveRecheck, token: K.resumeTimer)
                }
                return
            }
            reservePaused = false
            // Admitting the held client may have paused accepting again (connection limit).
            guard !acceptPaused else { return }
        }
        accepting = true
        acceptPaused = false
        // Near the limit accept one at a time, so a multishot burst cannot overshoot it.
        acceptMultishot = multishotSafe
        backend.startAccept(listener: listener, token: acceptToken, multishot: acceptMultishot)
        setRouteAccepts(armed: true)
    }

    /// Far enough from the connection limit and from the descriptor ceiling that a multishot
    /// burst cannot overshoot either (near the ceiling, all but one client of a burst past it
    /// would be reset).
    var multishotSafe: Bool {
        shared.maxConnections - shared.active.load(ordering: .relaxed) > K.multishotHeadroom
            && lastAcceptedFd < shared.descriptorCeiling - Int32(K.multishotHeadroom)
    }

    /// The accept token: distinct for multishot and single accepts, so cancelling one never
    /// cancels the other.
    var acceptToken: Token { acceptMultishot ? K.acceptToken : K.singleAcceptToken }

    func pauseAccepting(resumeAfter nanoseconds: Int64) {
        if accepting {
            backend.stopAccept(listener: listener, token: acceptToken)
            accepting = false
        }
        setRouteAccepts(armed: false)
        if !acceptPaused {
            acceptPaused = true
            backend.schedule(afterNanoseconds: nanoseconds, token: K.resumeTimer)
        }
    }

    func accepted(_ c: Completion) {
        if c.result >= 0 {
            admit(fd: c.result)
        } else {
            let e = Errno(rawValue: -c.result)
            if e.rawValue == ECANCELED || c.token != acceptToken || !accepting {
                return  // a cancelled or superseded accept
            }
            if c.more {
                // The kernel keeps the multishot accept armed after this error: stop it, or
                // it would report the same failure in a tight loop.
                backend.stopAccept(listener: listener, token: acceptToken)
            }
            accepting = false
            acceptFailed(e, on: "the listener")
            return
        }
        if !c.more && accepting && c.token == acceptToken {
            // A single accept is done, or the kernel ended a multishot one: re-arm.
            accepting = false
            if !acceptPaused { startAccepting() }
        }
    }

    /// An accept failed (and was stopped): out of descriptors, shed pooled pipes and pause
    /// until some free up; anything else, retry shortly. Every listener pauses with the loop.
    func acceptFailed(_ e: Errno, on what: String) {
        if e.isDescriptorExhaustion {
            pipes.shed()
            counters.add(.acceptPausesDescriptors)
            limits.warning("accept-emfile", "loop \(index): accept failed: \(e); pausing accepts until descriptors free up")
            pauseAccepting(resumeAfter: 100_000_000)
        } else {
            limits.warning("accept-error", "loop \(index): accept on \(what) failed: \(e); retrying shortly")
            pauseAccepting(resumeAfter: 50_000_000)
        }
    }

    /// Takes a freshly accepted client socket (`route`: the route listener that took it).
    func admit(fd: Int32, route: GatewayRoute? = nil) {
        counters.add(.accepted)
        lastAcceptedFd = fd
        if fd >= shared.descriptorCeiling {
            acceptedIntoReserve(fd, route: route)
            return
        }
        admitBelowCeiling(fd: fd, route: route)
    }

    /// `admit` for a client whose descriptor is below the ceiling.
    func admitBelowCeiling(fd: Int32, route: GatewayRoute?) {
        if draining {
            counters.add(.refusedDraining)
            Socket.armReset(fd)
            Socket.close(fd)
            return
        }
        defer {
            if accepting && acceptMultishot && !multishotSafe {
                backend.stopAccept(listener: listener, token: acceptToken)
                accepting = false
                startAccepting()
            }
        }
        if !waitingClients.isEmpty || !start(fd: fd, route: route) {
            // Over the limit: a multishot accept can take a burst before it is stopped. Hold
            // the client (one descriptor, no slot) until a connection closes, like the backlog would.
            if waitingClients.count >= K.maxWaitingClients {
                counters.add(.refusedOverLimit)
                limits.warning("over-limit", "loop \(index): too many clients waiting for a free connection; resetting")
                Socket.armReset(fd)
                Socket.close(fd)
            } else {
                waitingClients.append((fd, route))
            }
            if !acceptPaused {
                counters.add(.acceptPausesLimit)
                limits.warning("max-connections", "loop \(index): \(shared.maxConnections) connections open (limit); pausing accepts")
            }
            pauseAccepting(resumeAfter: 50_000_000)
        }
    }

    /// A client whose descriptor fell into the control plane's reserve: every number below the
    /// ceiling is taken, so the data plane is at its share. Idle pooled pipes are shed, and
    /// accepting pauses until a descriptor below the ceiling is free. The first such client is
    /// held (one reserve descriptor per loop at most) and admitted then; more, from a burst of
    /// accepts already under way, are reset (counted).
    func acceptedIntoReserve(_ fd: Int32, route: GatewayRoute?) {
        if reserveClient == nil && !draining {
            reserveClient = (fd, route)
        } else {
            counters.add(.refusedDescriptorReserve)
            Socket.armReset(fd)
            Socket.close(fd)
        }
        pipes.shed()
        logReserveReached()
        if !reservePaused { counters.add(.acceptPausesDescriptors) }
        reservePaused = true
        pauseAccepting(resumeAfter: K.reserveRecheck)
    }

    /// Says (at most once a second) that the data plane reached its share: a client or an
    /// upstream socket got a descriptor in the control plane's reserve.
    func logReserveReached() {
        limits.warning(
            "descriptor-reserve",
            "loop \(index): the data plane holds its share of descriptors (numbers from \(shared.descriptorCeiling) up are kept for the admin endpoint, probes and reloads); pausing accepts")
    }

    /// Moves the held reserve client to the lowest free descriptor and admits it; false (still
    /// held) when that number is not below the ceiling. True when none is held.
    func admitReserveClient() -> Bool {
        guard let (fd, route) = reserveClient else { return true }
        let low = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard low >= 0 else { return false }
        if low >= shared.descriptorCeiling {
            Socket.close(low)
            return false
        }
        Socket.close(fd)
        reserveClient = nil
        admitBelowCeiling(fd: low, route: route)
        return true
    }

    /// Resets the held reserve client (draining, stopping).
    func resetReserveClient() {
        guard let (fd, _) = reserveClient else { return }
        reserveClient = nil
        counters.add(.refusedDraining)
        Socket.armReset(fd)
        Socket.close(fd)
    }

    /// A new upstream socket, or EMFILE when the process is out of descriptors or the one it got
    /// falls into the control plane's reserve (then it is closed again at once).
    func makeUpstreamSocket(family: Int32) -> Result<Int32, Errno> {
        let made = Socket.makeStream(family: family)
        if case .success(let fd) = made, fd >= shared.descriptorCeiling {
            Socket.close(fd)
            logReserveReached()
            return .failure(.tooManyOpenFiles)
        }
        return made
    }

    /// Starts proxying an accepted client if the connection limit allows; false otherwise.
    func start(fd: Int32, route: GatewayRoute?) -> Bool {
        let total = shared.active.loadThenWrappingIncrement(ordering: .relaxed) + 1
        guard total <= shared.maxConnections, let slot = slab.allocate() else {
            shared.active.wrappingDecrement(ordering: .relaxed)
            return false
        }
        counters.add(.active)
        let conn = slab[slot]
        conn.pointee.state = .connecting
        conn.pointee.downstream = fd
        conn.pointee.lastActivity = now
        conn.pointee.toUpstream.copyPath = !config.splice
        conn.pointee.toDownstream.copyPath = !config.splice
        Socket.setNoDelay(fd)
        backend.watch(fd: fd, token: Token(kind: .downstreamReady, slot: slot, generation: conn.pointee.generation))
        if let route {
            startOutbound(conn, slot: slot, route: route)
            return true
        }
        if let gw = gateway {
            // Inbound: the peer gateway proves its identity, then sends a transport header.
            conn.pointee.role = .inbound
            startHandshake(conn, slot: slot, upstreamSide: false, context: gw.snapshot.credentials.server)
            return true
        }
        if let context = config.tls.downstream {
            // Terminating: the client proves its identity before any upstream is contacted.
            startHandshake(conn, slot: slot, upstreamSide: false, context: context)
            return true
        }
        let first = balancer.first(now: now)
        connect(conn, slot: slot, upstream: first)
        return true
    }

    /// Starts held clients while the limit allows, oldest first.
    func startWaitingClients() {
        guard !startingWaiting else { return }
        startingWaiting = true
        defer { startingWaiting = false }
        while let (fd, route) = waitingClients.first {
            guard start(fd: fd, route: route) else { return }
            waitingClients.removeFirst()
        }
    }

    // MARK: - Connecting

    /// Opens an upstream socket and starts connecting it. Returns false when the process is
    /// out of descriptors: the connection is then parked until some free up.
    @discardableResult
    func connect(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, upstream i: Int) -> Bool {
        conn.pointee.upstreamIndex = Int32(i)
        let balancer = conn.pointee.upstreams ?? self.balancer
        switch makeUpstreamSocket(family: balancer.families[i]) {
        case .success(let fd):
            Socket.setNoDelay(fd)
            conn.pointee.upstream = fd
            conn.pointee.state = .connecting
            conn.pointee.phaseStart = MonotonicClock.nanoseconds()
            backend.connect(fd: fd, address: balancer.address(i), length: balancer.lengths[i],
                            timeoutNanoseconds: connectTimeout,
                            token: Token(kind: .connect, slot: slot, generation: conn.pointee.generation))
            return true
        case .failure(let e) where e.isDescriptorExhaustion:
            if pipes.shed() > 0, case .success(let fd) = makeUpstreamSocket(family: balancer.families[i]) {
                // Idle pooled pipes were holding the descriptors: carry on.
                Socket.close(fd)
                return connect(conn, slot: slot, upstream: i)
            }
            // Keep the client; retry when a connection closes (or shortly), and stop taking
            // new clients meanwhile.
            if conn.pointee.state != .waitingForDescriptor {
                conn.pointee.state = .waitingForDescriptor
                conn.pointee.lastActivity = now
                parked.append((slot, conn.pointee.generation))
                counters.add(.descriptorWaits)
                // Accepting pauses for want of descriptors, as when an accept fails or lands in
                // the reserve: counted the same way, whichever of the three comes first.
                if !acceptPaused { counters.add(.acceptPausesDescriptors) }
            }
            limits.warning("socket-emfile", "loop \(index): out of descriptors for an upstream socket (\(e)); client waits")
            pauseAccepting(resumeAfter: 100_000_000)
            return false
        case .failure(let e):
            counters.add(.socketFailures)
            limits.warning("socket", "loop \(index): cannot open an upstream socket: \(e)")
            close(slot, resetDownstream: true, resetUpstream: false)
            return true
        }
    }

    /// Retries parked connections in arrival order until descriptors run out again.
    func retryParked() {
        guard !retryingParked else { return }  // close() inside connect() may call back here
        retryingParked = true
        defer { retryingParked = false }
        while let (slot, generation) = parked.first {
            guard let conn = slab.live(slot, generation: generation), conn.pointee.state == .waitingForDescriptor else {
                parked.removeFirst()
                continue
            }
            if !connect(conn, slot: slot, upstream: Int(conn.pointee.upstreamIndex)) { return }
            parked.removeFirst()
        }
    }

    func connected(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, result: Int32) {
        let i = Int(conn.pointee.upstreamIndex)
        let balancer = conn.pointee.upstreams ?? self.balancer
        if result == 0 {
            balancer.markUp(i)
            conn.pointee.lastActivity = now
            traffic.observeConnect(nanoseconds: MonotonicClock.nanoseconds() &- conn.pointee.phaseStart)
            backend.watch(fd: conn.pointee.upstream, token: Token(kind: .upstreamReady, slot: slot, generation: conn.pointee.generation))
            if conn.pointee.role == .outbound, let gw = gateway {
                startHandshake(conn, slot: slot, upstreamSide: true, context: gw.snapshot.credentials.client)
            } else if let context = config.tls.upstream {
                startHandshake(conn, slot: slot, upstreamSide: true, context: context)
            } else {
                open(conn, slot: slot)
            }
            return
        }
        let e = Errno(rawValue: -result)
        let timedOut = e.rawValue == ECANCELED || e.rawValue == ETIMEDOUT
        counters.add(.connectFailures)
        if timedOut { counters.add(.connectTimeouts) }
        balancer.markDown(i, now: now)
        limits.warning("connect-\(i)", "loop \(index): connect to \(balancer.descriptions[i]) failed: \(timedOut ? "timed out" : e.description)")
        backend.close(fd: conn.pointee.upstream)
        conn.pointee.upstream = -1
        conn.pointee.attempts += 1
        if Int(conn.pointee.attempts) < balancer.count {
            counters.add(.upstreamFailovers)
            connect(conn, slot: slot, upstream: balancer.after(i, now: now))
        } else {
            counters.add(.upstreamsExhausted)
            limits.warning("exhausted", "loop \(index): every upstream failed; resetting the client connection")
            close(slot, resetDownstream: true, resetUpstream: false)
        }
    }

    // MARK: - Moving bytes

    func readiness(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, upstreamSide: Bool, _ c: Completion) {
        let r = c.readiness
        if c.result < 0 {
            // The watch itself failed or was cancelled; nothing to do for a live slot but re-arm.
            if c.result != -ECANCELED {
                backend.watch(fd: upstreamSide ? conn.pointee.upstream : conn.pointee.downstream, token: c.token)
            }
            return
        }
        if !c.more {
            // Multishot poll ended (e.g. CQ overflow): re-arm.
            backend.watch(fd: upstreamSide ? conn.pointee.upstream : conn.pointee.downstream, token: c.token)
        }
        if upstreamSide {
            if r.contains(.readable) { conn.pointee.toDownstream.sourceReadable = true }
            if r.contains(.writable) { conn.pointee.toUpstream.destinationWritable = true }
        } else {
            if r.contains(.readable) { conn.pointee.toUpstream.sourceReadable = true }
            if r.contains(.writable) { conn.pointee.toDownstream.destinationWritable = true }
        }
        guard conn.pointee.state == .open else {
            if conn.pointee.state == .readingHeader && !upstreamSide {
                readHeader(conn, slot: slot)
                return
            }
            if conn.pointee.state == .handshakingDownstream && !upstreamSide
                || conn.pointee.state == .handshakingUpstream && upstreamSide
            {
                driveHandshake(conn, slot: slot, upstreamSide: upstreamSide)
            }
            return
        }
        if r.contains(.error) {
            let fd = upstreamSide ? conn.pointee.upstream : conn.pointee.downstream
            let err = Socket.pendingError(fd)
            if err != 0 {
                sideFailed(slot, upstreamSide: upstreamSide, Errno(rawValue: err))
                return
            }
        }
        pumpBoth(conn, slot: slot)
    }

    @inline(__always)
    func pumpBoth(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32) {
        if !pump(conn, slot: slot, toUpstream: true) { return }
        _ = pump(conn, slot: slot, toUpstream: false)
    }

    /// Gives back the pipe or buffer of an empty direction.
    @inline(__always)
    /// A user-space TLS source keeps its buffer while it holds part of a record, unless `force`.
    func releaseChannel(_ f: UnsafeMutablePointer<Flow>, force: Bool = false) {
        if f.pointee.pipeRead >= 0 {
            if f.pointee.pending == 0 {
                pipes.release(Pipe(read: f.pointee.pipeRead, write: f.pointee.pipeWrite))
            } else {
                pipes.discard(Pipe(read: f.pointee.pipeRead, write: f.pointee.pipeWrite))
            }
            f.pointee.pipeRead = -1
            f.pointee.pipeWrite = -1
            counters.subtract(.pipesInUse)
        }
        if let b = f.pointee.buffer {
            if !force && f.pointee.cipherEnd > f.pointee.cipherStart { return }
            buffers.release(b)
            f.pointee.buffer = nil
            counters.subtract(.buffersInUse)
            f.pointee.cipherStart = 0
            f.pointee.cipherEnd = 0
        }
        f.pointee.pending = 0
        f.pointee.bufferOffset = 0
    }

    func runYielded() {
        swap(&runList, &runListSpare)
        for (slot, generation, toUpstream) in runListSpare {
            guard let conn = slab.live(slot, generation: generation), conn.pointee.state == .open else { continue }
            if toUpstream { conn.pointee.toUpstream.queued = false } else { conn.pointee.toDownstream.queued = false }
            pump(conn, slot: slot, toUpstream: toUpstream)
        }
        runListSpare.removeAll(keepingCapacity: true)
    }

    // MARK: - Closing

    /// One side failed (reset, broken pipe): the other side gets a reset too, so a truncated
    /// stream is never passed on as a complete one.
    func sideFailed(_ slot: UInt32, upstreamSide: Bool, _ e: Errno) {
        counters.add(upstreamSide ? .resetsFromUpstream : .resetsFromDownstream)
        close(slot, resetDownstream: true, resetUpstream: true)
    }

    func close(_ slot: UInt32, resetDownstream: Bool, resetUpstream: Bool) {
        let conn = slab[slot]
        if conn.pointee.state == .handshakingDownstream || conn.pointee.state == .handshakingUpstream {
            counters.subtract(.tlsHandshakesActive)
        } else if conn.pointee.state == .open {
            // Sides that never handed over still carried their bytes in user space.
            if conn.pointee.downstreamTX == .openSSL { counters.add(.tlsUserspaceSides) }
            if conn.pointee.upstreamTX == .openSSL { counters.add(.tlsUserspaceSides) }
            countPath(conn)
        }
        if let series = conn.pointee.traffic {
            endTraffic(series, conn, reset: resetDownstream || resetUpstream)
        }
        releaseChannel(flow(conn, toUpstream: true), force: true)
        releaseChannel(flow(conn, toUpstream: false), force: true)
        if conn.pointee.downstream >= 0 {
            if resetDownstream { Socket.armReset(conn.pointee.downstream) }
            backend.close(fd: conn.pointee.downstream)
        }
        if conn.pointee.upstream >= 0 {
            if resetUpstream { Socket.armReset(conn.pointee.upstream) }
            backend.close(fd: conn.pointee.upstream)
        }
        slab.free(slot)
        counters.subtract(.active)
        shared.active.wrappingDecrement(ordering: .relaxed)
        if !parked.isEmpty { retryParked() }
        if !waitingClients.isEmpty && !draining { startWaitingClients() }
        if acceptPaused && !draining && parked.isEmpty && waitingClients.isEmpty {
            // Descriptors or capacity just freed up.
            acceptPaused = false
            startAccepting()
        }
    }

    func resetWaitingClients() {
        resetReserveClient()
        for (fd, _) in waitingClients {
            counters.add(.refusedDraining)
            Socket.armReset(fd)
            Socket.close(fd)
        }
        waitingClients.removeAll()
    }

    func closeEverything(reset: Bool) {
        resetWaitingClients()
        for i in 0..<slab.highWater {
            let slot = UInt32(i)
            if slab[slot].pointee.state != .free {
                counters.add(.forcedCloses)
                close(slot, resetDownstream: reset, resetUpstream: reset)
            }
        }
        if listener >= 0 {
            backend.close(fd: listener)
            listener = -1
        }
        releaseAllRouteAcceptors()
        // Flush the queued closes.
        try? backend.wait(timeoutNanoseconds: 0) { _ in }
    }

    // MARK: - Timers and commands

    func timer(_ t: Token) {
        if t == K.kernelTLSPokeTimer {
            backend.schedule(afterNanoseconds: K.kernelTLSPokeInterval, token: K.kernelTLSPokeTimer)
            pokeQuietKernelTLS()
        } else if t == K.sweepTimer {
            // After the rest of this batch: readiness already reported is handled first.
            sweepDue = true
            backend.schedule(afterNanoseconds: 1_000_000_000, token: K.sweepTimer)
        } else if t == K.resumeTimer {
            if !waitingClients.isEmpty && !draining { startWaitingClients() }
            if !parked.isEmpty {
                retryParked()
                if !parked.isEmpty {
                    acceptPaused = false
                    pauseAccepting(resumeAfter: 100_000_000)
                    return
                }
            }
            if !waitingClients.isEmpty {
                acceptPaused = false
                pauseAccepting(resumeAfter: 50_000_000)
                return
            }
            if acceptPaused && !draining {
                acceptPaused = false
                startAccepting()
            }
        }
    }

    /// Closes connections idle for longer than the idle timeout.
    func sweep() {
        let limit = now &- idleTimeout
        for i in 0..<slab.highWater {
            let slot = UInt32(i)
            let c = slab[slot]
            if c.pointee.state == .open && c.pointee.lastActivity < limit {
                counters.add(.idleTimeouts)
                close(slot, resetDownstream: false, resetUpstream: false)
            } else if (c.pointee.state == .handshakingDownstream || c.pointee.state == .handshakingUpstream)
                && c.pointee.handshakeDeadline < now
            {
                expireHandshake(c, slot: slot)
            } else if c.pointee.state == .readingHeader && c.pointee.handshakeDeadline < now {
                refuseGateway(c, slot: slot, .headerTimeout, "no whole transport header in time")
            } else if c.pointee.state == .waitingForDescriptor && c.pointee.lastActivity < now &- connectTimeout {
                counters.add(.connectTimeouts)
                close(slot, resetDownstream: true, resetUpstream: false)
            }
        }
    }

    /// Pumps kernel TLS connections that were busy a moment ago and have gone quiet (see
    /// ``pokeKernelTLS``).
    func pokeQuietKernelTLS() {
        let quietSince = now &- K.kernelTLSPokeAfter
        let busySince = now &- K.kernelTLSPokeWithin
        for i in 0..<slab.highWater {
            let slot = UInt32(i)
            let c = slab[slot]
            if c.pointee.state == .open && c.pointee.lastActivity < quietSince && c.pointee.lastActivity > busySince
                && (c.pointee.downstreamRX == .kernelTLS || c.pointee.upstreamRX == .kernelTLS
                    || c.pointee.downstreamTX == .kernelTLS || c.pointee.upstreamTX == .kernelTLS)
            {
                pokeKernelTLS(c, slot: slot)
            }
        }
    }

    /// A kernel TLS socket's readiness can be missed (seen on Linux 6.1: a stream stalled with
    /// a record queued and no wake-up). A connection that was busy a moment ago and has gone
    /// quiet is pumped every quarter second for a while; bytes moving then are counted.
    func pokeKernelTLS(_ c: UnsafeMutablePointer<Connection>, slot: UInt32) {
        let generation = c.pointee.generation
        let before = c.pointee.lastActivity
        c.pointee.toUpstream.sourceReadable = true
        c.pointee.toDownstream.sourceReadable = true
        c.pointee.toUpstream.destinationWritable = true
        c.pointee.toDownstream.destinationWritable = true
        pumpBoth(c, slot: slot)
        if slab.live(slot, generation: generation) == nil || c.pointee.lastActivity != before {
            counters.add(.ktlsStallRecoveries)
            limits.warning("ktls-stall", "loop \(index): a kernel TLS connection moved bytes only when polled (missed wake-up)")
        }
    }

    func commands() {
        for command in control.take() {
            switch command {
            case .drain:
                guard !draining else { continue }
                draining = true
                resetWaitingClients()
                if accepting { backend.stopAccept(listener: listener, token: acceptToken) }
                accepting = false
                releaseAllRouteAcceptors()
                // Closing the listener makes new connects fail at once instead of queueing.
                if listener >= 0 {
                    backend.close(fd: listener)
                    listener = -1
                }
                if slab.count == 0 { stopping = true }
            case .stop:
                stopping = true
            case .routes:
                if !draining { applySnapshot() }
            }
        }
    }
}

/// Constants of `ProxyLoop` (generic types cannot hold static stored properties).
enum ProxyLoopConstants {
    static let acceptToken = Token(kind: .accept, slot: 0, generation: 0)
    static let singleAcceptToken = Token(kind: .accept, slot: 0, generation: 1)
    /// Below this many free connection slots, accept one connection at a time.
    static let multishotHeadroom = 64
    static let sweepTimer = Token(kind: .timer, slot: 1, generation: 0)
    static let resumeTimer = Token(kind: .timer, slot: 2, generation: 0)
    /// How often a loop paused at its descriptor share looks whether one below the ceiling is free.
    static let reserveRecheck: Int64 = 100_000_000
    static let spliceFlags = mg_SPLICE_F_MOVE | mg_SPLICE_F_NONBLOCK
    /// Bytes one direction may move in one turn before yielding to others.
    static let turnBudget = 1 << 20
    /// Kernel TLS connections quiet for longer than this, but busy within `kernelTLSPokeWithin`,
    /// are pumped every `kernelTLSPokeInterval` (missed wake-ups).
    static let kernelTLSPokeTimer = Token(kind: .timer, slot: 3, generation: 0)
    static let kernelTLSPokeInterval: Int64 = 250_000_000
    static let kernelTLSPokeAfter: Int64 = 200_000_000
    static let kernelTLSPokeWithin: Int64 = 30_000_000_000
    /// One full TLS record with header and AEAD overhead, plus slack.
    static let tlsScratchSize = 16 * 1024 + 512
    /// Accepted clients a loop may hold beyond the connection limit before resetting more.
    static let maxWaitingClients = 4096
    static let toUpstreamOffset = MemoryLayout<Connection>.offset(of: \Connection.toUpstream)!
    static let toDownstreamOffset = MemoryLayout<Connection>.offset(of: \Connection.toDownstream)!
}
