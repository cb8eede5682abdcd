#if canImport(Glibc)
import Glibc
#endif
import Logging
import MeshgateLoop
import MeshgateTLS

/// Connecting upstream: opening the socket, parking while descriptors run out, the result.
extension ProxyLoop {
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
}
