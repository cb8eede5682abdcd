#if canImport(Glibc)
import Glibc
#endif
import Logging
import MeshgateLoop
import MeshgateTLS

/// Closing: one connection (with resets when a side failed), held clients, everything.
extension ProxyLoop {
    /// One side failed (reset, broken pipe): the lifecycle ends the connection (`.reset`).
    func sideFailed(_ slot: UInt32, upstreamSide: Bool, _ e: Errno) {
        advance(slab[slot], slot: slot, .reset(ConnectionSide(upstreamSide: upstreamSide)))
    }

    func close(_ slot: UInt32, resetDownstream: Bool, resetUpstream: Bool) {
        let conn = slab[slot]
        if conn.pointee.phase.handshakingSide != nil {
            counters.subtract(.tlsHandshakesActive)
        } else if conn.pointee.phase.isOpen {
            // Sides that never handed over still carried their bytes in user space.
            if conn.pointee.downstreamTransport.tx.openSSL != nil { counters.add(.tlsUserspaceSides) }
            if conn.pointee.upstreamTransport.tx.openSSL != nil { counters.add(.tlsUserspaceSides) }
            countPath(conn)
        }
        if let series = conn.pointee.traffic {
            endTraffic(series, conn, reset: resetDownstream || resetUpstream)
        }
        if conn.pointee.role == .pooled {
            pooledSlotClosed(conn, slot: slot)
        } else if case .readingHeader(_, true) = conn.pointee.phase {
            counters.subtract(.gatewayPoolInboundIdle)
        }
        releaseChannel(flow(conn, toUpstream: true), force: true)
        releaseChannel(flow(conn, toUpstream: false), force: true)
        closeSocket(conn.pointee.downstream, reset: resetDownstream)
        closeSocket(conn.pointee.upstream, reset: resetUpstream)
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

    /// Closes a connection's socket through the backend (queued with the loop's other work),
    /// first arming a reset (RST instead of FIN) when `reset`. The one close of a connection's
    /// sockets.
    func closeSocket(_ fd: Descriptor?, reset: Bool) {
        guard let fd else { return }
        if reset { Socket.armReset(fd.raw) }
        backend.close(fd: fd.raw)
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

    /// The loop stops: held clients are reset, live connections end (`.stopRequested`), the
    /// listeners close.
    func closeEverything() {
        resetWaitingClients()
        for i in 0..<slab.highWater {
            let slot = UInt32(i)
            advance(slab[slot], slot: slot, .stopRequested)
        }
        closeListener()
        releaseAllRouteAcceptors()
        // Flush the queued closes.
        try? backend.wait(timeoutNanoseconds: 0) { _ in }
    }
}
