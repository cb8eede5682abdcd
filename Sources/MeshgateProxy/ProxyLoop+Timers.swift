#if canImport(Glibc)
import Glibc
#endif
import Logging
import MeshgateLoop
import MeshgateTLS

/// Timers (idle sweep, accept resume, kernel TLS pokes) and commands from other threads.
extension ProxyLoop {
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

    /// Ends connections past a deadline of their phase (idle, handshake, header, descriptor
    /// wait: `ConnectionLifecycle.expiry`).
    func sweep() {
        let limits = lifecycleLimits
        for i in 0..<slab.highWater {
            let slot = UInt32(i)
            let c = slab[slot]
            guard ConnectionLifecycle.expiry(c.pointee.phase, lastActivity: c.pointee.lastActivity, limits: limits, now: now) != nil
            else { continue }
            advance(c, slot: slot, .tick(lastActivity: c.pointee.lastActivity))
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
            if c.pointee.phase.isOpen && c.pointee.lastActivity < quietSince && c.pointee.lastActivity > busySince
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
