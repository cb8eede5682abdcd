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
        sweepPools()
    }

    /// The kTLS safety net, step 1 (the poke timer): notes kernel TLS connections that were busy
    /// a moment ago, have gone quiet, and whose sockets the kernel reports ready in a way the
    /// pump could act on (``stallSuspected``). Nothing is read here: the loop first handles the
    /// events already queued, then ``pokeSuspected`` pumps what is still quiet.
    ///
    /// Why in this order: under load (the kTLS VM's emulated CPUs) the loop runs hundreds of
    /// milliseconds behind its queue. A poke that pumped at once read bytes whose readiness
    /// event was already queued (io_uring's deferred task work, epoll's ready list) and
    /// counted them as missed wake-ups; every one was followed by its event (docs/ktls-vm.md,
    /// "Missed wake-ups").
    func pokeQuietKernelTLS() {
        guard pokeSuspects.isEmpty else { return }
        let quietSince = now &- K.kernelTLSPokeAfter
        let busySince = now &- K.kernelTLSPokeWithin
        for i in 0..<slab.highWater {
            let slot = UInt32(i)
            let c = slab[slot]
            if c.pointee.phase.isOpen && c.pointee.lastActivity < quietSince && c.pointee.lastActivity > busySince
                && (c.pointee.downstreamTransport.usesKernelTLS || c.pointee.upstreamTransport.usesKernelTLS)
                && stallSuspected(c)
            {
                pokeSuspects.append((slot, c.pointee.generation, c.pointee.lastActivity, c.pointee.readinessEvents))
            }
        }
    }

    /// Whether either direction could move now by what the kernel reports (poll(2), no data
    /// read): a source with data, end of stream or an error while the direction holds nothing,
    /// or a destination with room while it holds bytes (or a stream end) to pass on.
    func stallSuspected(_ c: UnsafeMutablePointer<Connection>) -> Bool {
        let readable = Int16(POLLIN | POLLHUP | POLLERR) | 0x2000  // POLLRDHUP
        let writable = Int16(POLLOUT | POLLHUP | POLLERR)
        guard let downstream = c.pointee.downstream, let upstream = c.pointee.upstream else { return false }
        let down = Socket.pollNow(downstream.raw)
        let up = Socket.pollNow(upstream.raw)
        func could(_ f: Flow, source: Int16, destination: Int16) -> Bool {
            if f.finished { return false }
            if f.pending > 0 || f.sourceEOF { return destination & writable != 0 }
            return source & readable != 0
        }
        return could(c.pointee.toUpstream, source: down, destination: up)
            || could(c.pointee.toDownstream, source: up, destination: down)
    }

    /// The safety net, step 2 (after the queued events): pumps the suspects that no readiness
    /// event and no moved byte touched since they were noted; bytes that move now are a missed
    /// wake-up, counted (`ktls_stall_recoveries`) and logged.
    func pokeSuspected() {
        let list = pokeSuspects
        pokeSuspects.removeAll(keepingCapacity: true)
        for (slot, generation, lastActivity, events) in list {
            guard let c = slab.live(slot, generation: generation), c.pointee.phase.isOpen,
                c.pointee.lastActivity == lastActivity, c.pointee.readinessEvents == events
            else { continue }
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
    }

    func commands() {
        owner.assertOwned("a loop's commands")
        for command in control.take() {
            switch command {
            case .drain:
                guard !draining else { continue }
                draining = true
                resetWaitingClients()
                if accepting { stopAccepting() }
                accepting = false
                releaseAllRouteAcceptors()
                closeListener()
                for i in 0..<slab.highWater {
                    let slot = UInt32(i)
                    advance(slab[slot], slot: slot, .drainRequested)
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
