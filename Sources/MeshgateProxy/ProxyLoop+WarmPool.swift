#if canImport(Glibc)
import Glibc
#endif
import MeshgateLoop
import MeshgateTLS

/// Warm pools, the originating side (docs/links.md, "Warm pools"): per link, established and
/// handshaked connections to the linked cluster's gateways, each announced to the peer with a
/// `pooled` header, wait for a local client. A client's connection adopts one's upstream side
/// and sends its `connect` header at once, with no TCP or TLS round trip. Pools follow the
/// route table (a link's routes carry its `WarmPoolPolicy`), drain when the link goes down or
/// away, when the identity is reloaded and when the gateway drains or stops, and are topped up
/// by the sweep once a second.
extension ProxyLoop {
    // MARK: - Following the route table

    /// Brings the pools in line with `next` (called as the loop takes a snapshot, before it is
    /// the loop's; `topUpPools` opens what is missing once it is).
    func syncPools(from previous: GatewaySnapshot, to next: GatewaySnapshot, delta: RouteTableDelta?) {
        guard let gw = gateway else { return }
        if previous.credentials.client !== next.credentials.client {
            // Pooled connections proved the old identity: new ones prove the new one.
            for pool in gw.pools.values { drain(pool) }
        }
        if let delta {
            for key in delta.removedKeys {
                if let old = previous.routes[key]?.route { dropPoolRoute(old) }
            }
            for entry in delta.upserted {
                // The new pool first: a link whose live gateways changed hands its connections
                // to addresses it still has over to it when its last route moves.
                takePoolRoute(entry.route)
                if let old = previous.routes[entry.route.key]?.route, WarmPoolKey(old) != WarmPoolKey(entry.route) {
                    dropPoolRoute(old, successor: WarmPoolKey(entry.route))
                }
            }
        } else {
            var keys: [WarmPoolKey: Set<String>] = [:]
            for (_, entry) in next.routes where entry.route.pool != nil {
                takePoolRoute(entry.route)
                keys[WarmPoolKey(entry.route), default: []].insert(entry.route.key)
            }
            for (key, pool) in gw.pools {
                if let own = keys[key] {
                    pool.routeKeys = own
                } else {
                    let successor = keys.keys.first { $0.cluster == key.cluster && $0.identity == key.identity }
                    retire(pool, successor: successor)
                }
            }
        }
    }

    /// A route as published: its pool takes it (made on first sight; drained when the link is
    /// down), or forgets it when it has no pool.
    private func takePoolRoute(_ route: GatewayRoute) {
        guard let gw = gateway else { return }
        guard route.pool != nil else {
            dropPoolRoute(route)
            return
        }
        let key = WarmPoolKey(route)
        let pool: WarmPool
        if let existing = gw.pools[key] {
            pool = existing
            if !route.alive { drain(pool) }
            pool.route = route
        } else {
            pool = WarmPool(route: route, loop: index)
            gw.pools[key] = pool
        }
        pool.routeKeys.insert(route.key)
    }

    /// `route` went away, moved to other gateways or lost its pool: its pool goes with its last
    /// route, to `successor` (the pool of the route's new gateways) when there is one.
    private func dropPoolRoute(_ route: GatewayRoute, successor: WarmPoolKey? = nil) {
        let key = WarmPoolKey(route)
        guard let gw = gateway, let pool = gw.pools[key], pool.routeKeys.remove(route.key) != nil, pool.routeKeys.isEmpty else { return }
        retire(pool, successor: successor)
    }

    /// Ends `pool` (its last route is gone): its connections to addresses that `successor`'s
    /// pool also has move there (the same cluster and identity: a link whose live gateways
    /// changed keeps what still leads somewhere), the others are drained.
    private func retire(_ pool: WarmPool, successor: WarmPoolKey?) {
        guard let gw = gateway else { return }
        if let successor, successor.cluster == pool.key.cluster, successor.identity == pool.key.identity,
            let next = gw.pools[successor], next !== pool, next.route.alive
        {
            handOver(pool, to: next)
        }
        drain(pool)  // what did not move
        gw.pools.removeValue(forKey: pool.key)
    }

    /// Moves `old`'s connections whose gateway address `new` also has into `new` (ready ones
    /// stay ready, in their order; opening ones go on opening).
    private func handOver(_ old: WarmPool, to new: WarmPool) {
        let readyOrder = old.ready.map(\.slot)
        let opening = old.members.keys.filter { old.members[$0]?.ready == false }
        for slot in readyOrder + opening {
            guard let member = old.members[slot], let c = slab.live(slot, generation: member.generation),
                let j = new.key.gateways.firstIndex(of: old.key.gateways[member.address])
            else { continue }
            old.forget(slot)
            new.members[slot] = WarmPool.Member(generation: member.generation, address: j, ready: member.ready)
            if member.ready { new.ready.append((slot, member.generation)) }
            c.pointee.route = new.route
            c.pointee.upstreams = new.balancers[j]
        }
    }

    /// Closes every connection of `pool`, ready or opening.
    func drain(_ pool: WarmPool) {
        for (slot, member) in Array(pool.members) {
            guard let c = slab.live(slot, generation: member.generation) else { continue }
            advance(c, slot: slot, .poolRetire(.drained))
        }
        pool.members.removeAll()
        pool.ready.removeAll()
    }

    // MARK: - Opening

    /// Tops every pool up to its share.
    func topUpPools() {
        guard let gw = gateway else { return }
        for pool in gw.pools.values { topUp(pool) }
    }

    /// Opens connections until each gateway address of `pool` has this loop's share (opening or
    /// ready); not while the link is down, the loop drains, an open failed a moment ago, or
    /// clients wait for descriptors.
    func topUp(_ pool: WarmPool) {
        guard let gw = gateway, !draining, !stopping, let policy = pool.policy, pool.route.alive, parked.isEmpty else { return }
        let share = policy.perLoop(loops: gw.loops)
        for i in pool.balancers.indices {
            var have = pool.count(address: i)
            while have < share && pool.mayOpen(address: i, now: now) {
                guard openPooled(pool, address: i) else { return }  // at the pools' share of the limit
                have += 1
            }
        }
    }

    /// Starts one pooled connection to gateway address `i`: a slot of role `pooled` that
    /// connects and handshakes like an outbound connection. False when no slot may be taken:
    /// pools leave the last tenth of the connection limit to clients.
    private func openPooled(_ pool: WarmPool, address i: Int) -> Bool {
        guard let slot = takeSlot(within: shared.maxConnections - max(1, shared.maxConnections / 10)) else { return false }
        counters.add(.active)
        countPool(.gatewayPoolOpening, pool.route.cluster)
        let conn = slab[slot]
        conn.pointee.role = .pooled
        conn.pointee.route = pool.route
        conn.pointee.upstreams = pool.balancers[i]
        conn.pointee.lastActivity = now
        conn.pointee.toUpstream.copyPath = !config.splice
        conn.pointee.toDownstream.copyPath = !config.splice
        conn.pointee.plan = plan(for: conn)
        pool.members[slot] = WarmPool.Member(generation: conn.pointee.generation, address: i, ready: false)
        advance(conn, slot: slot, .admitted)
        return true
    }

    /// A pooled connection finished its handshake (and sent its `pooled` header): it joins its
    /// pool's ready list, unless the pool, the identity or the loop moved on meanwhile.
    func pooledConnectionReady(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32) {
        let cluster = conn.pointee.route?.cluster ?? ""
        countPool(.gatewayPoolOpening, cluster, subtract: true)
        countPool(.gatewayPoolIdle, cluster)
        countPool(.gatewayPoolOpened, cluster)
        guard let gw = gateway, let pool = ownPool(conn, slot: slot), var member = pool.members[slot], !draining, pool.route.alive,
            conn.pointee.upstreamTLS?.context === gw.snapshot.credentials.client
        else {
            advance(conn, slot: slot, .poolRetire(.drained))
            return
        }
        member.ready = true
        pool.members[slot] = member
        if let fd = conn.pointee.upstream { WarmPoolPolicy.probeWhileWaiting(fd.raw) }
        pool.ready.append((slot, member.generation))
        pool.succeeded(address: member.address)
        // Session tickets (or the peer's close) may already be there.
        _ = pooledReadable(conn, slot: slot)
    }

    // MARK: - Waiting

    /// Reads what arrived on a ready pooled connection: session tickets are taken (OpenSSL
    /// stores them); a close, an error or any application data retires it. True while it is
    /// still fit to carry a client.
    func pooledReadable(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32) -> Bool {
        guard let tls = conn.pointee.upstreamTLS, let fd = conn.pointee.upstream else { return false }
        if tls.pendingOutboundCount > 0 { tls.sendOutbound(to: fd.raw) }
        while true {
            switch tls.readPlaintext(into: tlsScratch) {
            case .bytes(let n) where n > 0:
                advance(conn, slot: slot, .poolRetire(.closedByPeer))  // nothing may come before our connect
                return false
            case .bytes, .needMoreInput:
                break
            case .closeNotify, .truncated, .failed:
                advance(conn, slot: slot, .poolRetire(.closedByPeer))
                return false
            }
            switch SocketIO.recv(fd, into: tlsScratch.baseAddress, count: tlsScratch.count) {
            case .moved(let n):
                tls.receive(UnsafeRawBufferPointer(rebasing: tlsScratch[0..<n]))
            case .wouldBlock:
                return true
            case .failed(let e) where e == .timedOut:
                advance(conn, slot: slot, .poolRetire(.lost))  // keepalive probes went unanswered
                return false
            case .eof, .failed:
                advance(conn, slot: slot, .poolRetire(.closedByPeer))
                return false
            }
        }
    }

    /// The sweep's part (once a second): retires ready connections past their pool's
    /// `maxAge`, then tops the pools up.
    func sweepPools() {
        guard let gw = gateway, !gw.pools.isEmpty else { return }
        for pool in gw.pools.values {
            for (slot, member) in Array(pool.members) where member.ready {
                guard let c = slab.live(slot, generation: member.generation), case .pooled(let since) = c.pointee.phase else { continue }
                if pool.expiry(since: since, slot: slot) <= now { advance(c, slot: slot, .poolRetire(.expired)) }
            }
            topUp(pool)
        }
    }

    // MARK: - Adopting

    /// Outbound, instead of a connect: takes a ready pooled connection of the route's link, moves
    /// its upstream side (socket, TLS state, address) into this connection and sends the
    /// `connect` header at once. False (a miss, counted when the link has a pool) when none is
    /// ready: the connection connects as usual.
    func adoptPooled(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32) -> Bool {
        guard let gw = gateway, let route = conn.pointee.route, route.pool != nil, let pool = gw.pools[WarmPoolKey(route)] else { return false }
        defer { topUp(pool) }
        while let (pooledSlot, generation) = pool.ready.popLast() {
            guard let p = slab.live(pooledSlot, generation: generation), case .pooled = p.pointee.phase,
                let fd = p.pointee.upstream, let tls = p.pointee.upstreamTLS
            else { continue }
            guard tls.context === gw.snapshot.credentials.client else {
                advance(p, slot: pooledSlot, .poolRetire(.drained))
                continue
            }
            // The peer may have closed it with the event still queued behind this client's.
            guard pooledReadable(p, slot: pooledSlot) else { continue }
            pool.forget(pooledSlot)
            Socket.clearKeepalive(fd.raw)
            backend.release(fd: fd.raw)
            conn.pointee.upstream = fd
            conn.pointee.upstreamTransport = p.pointee.upstreamTransport
            conn.pointee.upstreams = p.pointee.upstreams
            conn.pointee.upstreamIndex = p.pointee.upstreamIndex
            p.pointee.upstream = nil
            p.pointee.upstreamTransport = SideTransport()
            close(pooledSlot, resetDownstream: false, resetUpstream: false)  // the empty slot
            backend.watch(fd: fd.raw, token: Token(kind: .upstreamReady, slot: slot, generation: conn.pointee.generation))
            countPool(.gatewayPoolHits, route.cluster)
            guard writeTransportHeader(conn, tls: tls) else {
                refuse(conn, slot: slot, upstreamSide: true, .other, "cannot write the transport header")
                return true
            }
            tls.sendOutbound(to: fd.raw)
            advance(conn, slot: slot, .pooledAdopted)
            return true
        }
        countPool(.gatewayPoolMisses, route.cluster)
        return false
    }

    // MARK: - Retiring

    /// A client found the connection limit reached: retires this loop's oldest-placed ready
    /// pooled connection, if any, so the client can take its place. True when one was retired.
    func yieldPooledToClient() -> Bool {
        guard let gw = gateway else { return false }
        for pool in gw.pools.values {
            while let (slot, generation) = pool.ready.first {
                pool.ready.removeFirst()
                guard let c = slab.live(slot, generation: generation), case .pooled = c.pointee.phase else { continue }
                advance(c, slot: slot, .poolRetire(.drained))
                return true
            }
        }
        return false
    }

    /// Ends a pooled connection for `why` (the lifecycle's `.poolRetired`): counted, a clean TLS
    /// close sent when it is established.
    func retirePooled(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, _ why: WarmPoolRetirement) {
        if let pool = ownPool(conn, slot: slot), let member = pool.forget(slot) {
            if why == .closedByPeer, case .pooled(let since) = conn.pointee.phase, now &- since < 1_000_000_000 {
                // Closed as soon as it was pooled: a peer that refuses pooled connections (a
                // gateway from before them answers `unknown_kind`). Space the next ones out.
                let i = member.address
                pool.backOff(now: now, address: i)
                let route = pool.route
                limits.warning(
                    "pool-refused-\(route.cluster)",
                    "loop \(index): the gateway of cluster \(route.cluster) at \(pool.key.gateways[i]) closed a pooled connection at once (a gateway from before warm pools refuses them: set links.clusters.\(route.cluster).pool.idle: 0); next try in \((pool.retryAt[i] &- now) / 1_000_000) ms")
            }
        }
        let cluster = conn.pointee.route?.cluster ?? ""
        switch why {
        case .expired: countPool(.gatewayPoolExpired, cluster)
        case .closedByPeer: countPool(.gatewayPoolClosedByPeer, cluster)
        case .lost: countPool(.gatewayPoolLost, cluster)
        case .drained: countPool(.gatewayPoolDrained, cluster)
        }
        if case .pooled = conn.pointee.phase, why == .expired || why == .drained, let tls = conn.pointee.upstreamTLS, let fd = conn.pointee.upstream {
            tls.sendCloseNotify(to: fd.raw)
        }
        close(slot, resetDownstream: false, resetUpstream: false)
    }

    /// `close` of a `pooled` slot: the gauges, and a slot its pool did not retire (its connect
    /// or handshake failed, or it failed while ready) counts as a failure that spaces the next
    /// opens out.
    func pooledSlotClosed(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32) {
        let cluster = conn.pointee.route?.cluster ?? ""
        if case .pooled = conn.pointee.phase {
            countPool(.gatewayPoolIdle, cluster, subtract: true)
        } else {
            countPool(.gatewayPoolOpening, cluster, subtract: true)
        }
        guard let pool = ownPool(conn, slot: slot), let member = pool.forget(slot) else { return }
        countPool(.gatewayPoolFailed, cluster)
        pool.backOff(now: now, address: member.address)
    }

    /// Counts a warm-pool event (or a gauge's change) of `cluster`'s pools: in this loop's
    /// counters and in the cluster's shared series.
    func countPool(_ name: ProxyCounters.Name, _ cluster: String, subtract: Bool = false) {
        if subtract { counters.subtract(name) } else { counters.add(name) }
        guard let gw = gateway else { return }
        let series: PoolSeries
        if let s = gw.poolSeries[cluster] {
            series = s
        } else {
            series = shared.poolSeries.series(for: cluster)
            gw.poolSeries[cluster] = series
        }
        series.add(name, subtract: subtract)
    }

    /// The pool whose member `slot` (this very connection, by generation) is, if any.
    private func ownPool(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32) -> WarmPool? {
        guard let route = conn.pointee.route, let pool = gateway?.pools[WarmPoolKey(route)],
            pool.members[slot]?.generation == conn.pointee.generation
        else { return nil }
        return pool
    }
}
