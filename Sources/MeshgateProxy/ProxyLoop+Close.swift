#if canImport(Glibc)
import Glibc
#endif
import Logging
import MeshgateLoop
import MeshgateTLS

/// Closing: one connection (with resets when a side failed), held clients, everything.
extension ProxyLoop {
    /// One side failed (reset, broken pipe): the other side gets a reset too, so a truncated
    /// stream is never passed on as a complete one.
    func sideFailed(_ slot: UInt32, upstreamSide: Bool, _ e: Errno) {
        counters.add(upstreamSide ? .resetsFromUpstream : .resetsFromDownstream)
        close(slot, resetDownstream: true, resetUpstream: true)
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
            if slab[slot].pointee.phase != .free {
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
}
