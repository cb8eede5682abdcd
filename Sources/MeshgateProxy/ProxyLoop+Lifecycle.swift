import MeshgateLoop

/// Drives `ConnectionLifecycle`: feeds it a connection's events and performs the actions it
/// returns. The decisions (what follows a handshake, a connect, a failure, a timeout) are the
/// lifecycle's; this file only does them.
extension ProxyLoop {
    /// The loop's timeouts as the lifecycle takes them.
    var lifecycleLimits: ConnectionLimits {
        ConnectionLimits(
            handshakeTimeout: handshakeTimeout, headerTimeout: gateway?.headerTimeout ?? handshakeTimeout,
            connectTimeout: connectTimeout, idleTimeout: idleTimeout, pooledIdleTimeout: gateway?.pooledIdleTimeout ?? 0)
    }

    /// The optional steps of a connection with the role it has now.
    func plan(for conn: UnsafeMutablePointer<Connection>) -> ConnectionPlan {
        switch conn.pointee.role {
        case .inbound:
            return ConnectionPlan(clientTLS: true, readsHeader: true, upstreamTLS: false)
        case .outbound:
            return ConnectionPlan(clientTLS: conn.pointee.route?.requireClientTLS ?? false, readsHeader: false, upstreamTLS: true)
        case .pooled:
            return ConnectionPlan(clientTLS: false, readsHeader: false, upstreamTLS: true, pooled: true)
        case .proxy:
            return ConnectionPlan(clientTLS: config.tls.downstream != nil, readsHeader: false, upstreamTLS: config.tls.upstream != nil)
        }
    }

    /// Feeds `event` to the connection's lifecycle and performs the action. Returns false when
    /// the connection was closed (by the action or anything it led to).
    @discardableResult
    func advance(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, _ event: ConnectionEvent) -> Bool {
        owner.assertOwned("a connection")
        let generation = conn.pointee.generation
        let action = ConnectionLifecycle.handle(
            event, phase: &conn.pointee.phase, plan: conn.pointee.plan, limits: lifecycleLimits, now: now,
            clock: MonotonicClock.nanoseconds())
        perform(action, conn, slot: slot)
        return slab.live(slot, generation: generation) != nil
    }

    /// Does what the lifecycle said.
    private func perform(_ action: ConnectionAction, _ conn: UnsafeMutablePointer<Connection>, slot: UInt32) {
        switch action {
        case .none:
            return
        case .handshake(let side):
            startHandshake(conn, slot: slot, upstreamSide: side == .upstream)
        case .readHeader:
            if case .readingHeader(_, true) = conn.pointee.phase {
                // Counted when the peer's `connect` comes.
                counters.add(.gatewayPoolInboundHeld)
                counters.add(.gatewayPoolInboundIdle)
            } else {
                counters.add(.gatewayInbound)
            }
            readHeader(conn, slot: slot)
        case .pool:
            pooledConnectionReady(conn, slot: slot)
        case .connect:
            if conn.pointee.role == .outbound && conn.pointee.attempts == 0 && adoptPooled(conn, slot: slot) { return }
            let balancer = conn.pointee.upstreams ?? self.balancer
            let i = conn.pointee.attempts == 0 ? balancer.first(now: now) : balancer.after(Int(conn.pointee.upstreamIndex), now: now)
            connect(conn, slot: slot, upstream: i)
        case .park(let first):
            park(conn, slot: slot, first: first)
        case .open:
            open(conn, slot: slot)
        case .keepOpenSSL(let side):
            conn.pointee.handOverFailed |= side == .upstream ? 2 : 1
        case .end(let end):
            self.end(conn, slot: slot, end)
        }
    }

    /// Out of descriptors for the upstream socket: the client waits (retried when a connection
    /// closes, or shortly), and new clients are not taken meanwhile.
    private func park(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, first: Bool) {
        if first {
            conn.pointee.lastActivity = now
            parked.append((slot, conn.pointee.generation))
            counters.add(.descriptorWaits)
            // Accepting pauses for want of descriptors, as when an accept fails or lands in
            // the reserve: counted the same way, whichever of the three comes first.
            if !acceptPaused { counters.add(.acceptPausesDescriptors) }
        }
        limits.warning("socket-emfile", "loop \(index): out of descriptors for an upstream socket; client waits")
        pauseAccepting(resumeAfter: 100_000_000)
    }

    /// Ends a connection for a reason of its lifecycle: counted, logged where it is news.
    private func end(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, _ end: ConnectionEnd) {
        switch end {
        case .done:
            counters.add(.closedOk)
            close(slot, resetDownstream: false, resetUpstream: false)
        case .upstreamsExhausted where conn.pointee.role == .pooled:
            close(slot, resetDownstream: false, resetUpstream: false)  // its connect failure is logged; no client to reset
        case .upstreamsExhausted:
            counters.add(.upstreamsExhausted)
            limits.warning("exhausted", "loop \(index): every upstream failed; resetting the client connection")
            close(slot, resetDownstream: true, resetUpstream: false)
        case .descriptorWaitTimeout:
            counters.add(.connectTimeouts)
            close(slot, resetDownstream: true, resetUpstream: false)
        case .handshakeTimeout(let side):
            refuse(
                conn, slot: slot, upstreamSide: side == .upstream, .handshakeTimeout,
                "not finished within \(config.tls.handshakeTimeout) (\(conn.pointee.handshakeBytes) bytes received)")
        case .headerTimeout:
            if case .readingHeader(_, true) = conn.pointee.phase {
                // A peer's pooled connection idle past inbound.pooledIdleTimeout: not a refusal.
                counters.add(.idleTimeouts)
                close(slot, resetDownstream: false, resetUpstream: false)
                return
            }
            refuseGateway(conn, slot: slot, .headerTimeout, "no whole transport header in time")
        case .idle:
            counters.add(.idleTimeouts)
            close(slot, resetDownstream: false, resetUpstream: false)
        case .linkDown:
            let route = conn.pointee.route
            refuseGateway(
                conn, slot: slot, .linkDown, "\(route?.key ?? "?"): the link to cluster \(route?.cluster ?? "?") is down")
        case .reset(let side):
            counters.add(side == .upstream ? .resetsFromUpstream : .resetsFromDownstream)
            close(slot, resetDownstream: true, resetUpstream: true)
        case .kernelTLSBroken:
            close(slot, resetDownstream: true, resetUpstream: true)
        case .stopped:
            counters.add(.forcedCloses)
            close(slot, resetDownstream: true, resetUpstream: true)
        case .poolRetired(let why):
            retirePooled(conn, slot: slot, why)
        case .heldPooledReleased:
            if let tls = conn.pointee.downstreamTLS, let fd = conn.pointee.downstream {
                tls.sendCloseNotify(to: fd.raw)  // the peer's pool retires it at once
            }
            close(slot, resetDownstream: false, resetUpstream: false)
        }
    }
}
