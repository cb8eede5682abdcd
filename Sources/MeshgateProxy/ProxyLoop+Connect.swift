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
            conn.pointee.upstream = Descriptor(fd)
            advance(conn, slot: slot, .connectStarted)
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
            // Keep the client; retry when a connection closes (or shortly).
            advance(conn, slot: slot, .outOfDescriptors)
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
            guard let conn = slab.live(slot, generation: generation), case .waitingForDescriptor = conn.pointee.phase else {
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
            if case .connecting(let startedAt) = conn.pointee.phase {
                traffic.observeConnect(nanoseconds: MonotonicClock.nanoseconds() &- startedAt)
            }
            backend.watch(fd: conn.pointee.upstream!.raw, token: Token(kind: .upstreamReady, slot: slot, generation: conn.pointee.generation))
            advance(conn, slot: slot, .connected)  // the upstream handshake, or open
            return
        }
        let e = Errno(rawValue: -result)
        let timedOut = e.rawValue == ECANCELED || e.rawValue == ETIMEDOUT
        counters.add(.connectFailures)
        if timedOut { counters.add(.connectTimeouts) }
        balancer.markDown(i, now: now)
        limits.warning("connect-\(i)", "loop \(index): connect to \(balancer.descriptions[i]) failed: \(timedOut ? "timed out" : e.description)")
        closeSocket(conn.pointee.upstream, reset: false)
        conn.pointee.upstream = nil
        conn.pointee.attempts += 1
        let more = Int(conn.pointee.attempts) < balancer.count
        if more { counters.add(.upstreamFailovers) }
        advance(conn, slot: slot, .connectFailed(moreUpstreams: more))  // the next upstream, or the end
    }
}
