#if canImport(Glibc)
import Glibc
#endif
import Logging
import MeshgateLoop
import MeshgateTLS

/// Accepting clients: the loop's listener and route listeners, the connection limit, the
/// descriptor ceiling and the control plane's reserve, clients held while the limit is reached.
extension ProxyLoop {
    func startAccepting() {
        guard !accepting, !draining, let listener else { return }
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
        backend.startAccept(listener: listener.raw, token: acceptToken, multishot: acceptMultishot)
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

    /// Stops the accept armed on the loop's listener.
    func stopAccepting() {
        if let listener { backend.stopAccept(listener: listener.raw, token: acceptToken) }
        accepting = false
    }

    /// Closes the loop's listener: connects to it then fail at once instead of queueing.
    func closeListener() {
        guard let listener else { return }
        backend.close(fd: listener.raw)
        self.listener = nil
    }

    func pauseAccepting(resumeAfter nanoseconds: Int64) {
        if accepting { stopAccepting() }
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
                stopAccepting()
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
                stopAccepting()
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

    /// Starts proxying an accepted client if the connection limit allows (an idle warm-pool
    /// connection gives way to it); false otherwise.
    func start(fd: Int32, route: GatewayRoute?) -> Bool {
        let limit = shared.maxConnections
        guard let slot = takeSlot(within: limit) ?? (yieldPooledToClient() ? takeSlot(within: limit) : nil) else { return false }
        counters.add(.active)
        let conn = slab[slot]
        conn.pointee.downstream = Descriptor(fd)
        conn.pointee.lastActivity = now
        conn.pointee.toUpstream.copyPath = !config.splice
        conn.pointee.toDownstream.copyPath = !config.splice
        Socket.setNoDelay(fd)
        backend.watch(fd: fd, token: Token(kind: .downstreamReady, slot: slot, generation: conn.pointee.generation))
        if let route {
            startOutbound(conn, slot: slot, route: route)
            return true
        }
        // Gateway inbound: the peer gateway proves its identity, then sends a transport header.
        // A TLS terminating proxy: the client proves its identity before any upstream is contacted.
        if gateway != nil { conn.pointee.role = .inbound }
        conn.pointee.plan = plan(for: conn)
        advance(conn, slot: slot, .admitted)
        return true
    }

    /// A slot for a new connection while the process holds at most `limit` (counted in the
    /// shared `active`), or nil. The slab holds more than the connection limit, so the limit is
    /// what refuses: `maxConnections` for clients, less a tenth for warm pools.
    func takeSlot(within limit: Int) -> UInt32? {
        let total = shared.active.loadThenWrappingIncrement(ordering: .relaxed) + 1
        guard total <= limit, let slot = slab.allocate() else {
            shared.active.wrappingDecrement(ordering: .relaxed)
            return nil
        }
        return slot
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
}
