#if canImport(Glibc)
import Glibc
#endif
import MeshgateLoop
import MeshgateNames
import MeshgateTLS
import MeshgateWire

/// The gateway roles: route listeners from the published snapshot, the outbound side (a
/// route's remote gateway over mTLS, transport header first) and the inbound side (header,
/// authorization, a local endpoint).
extension ProxyLoop {
    // MARK: - Snapshot

    /// Takes the current snapshot if it is newer: arms accepts on new route listeners,
    /// disarms removed ones, leaves unchanged ones alone. Connections keep their routes.
    /// One generation behind, only the snapshot's delta is applied; further behind (or at
    /// the start), the whole table is walked.
    func applySnapshot() {
        guard let gw = gateway else { return }
        let next = gw.publisher.snapshot
        guard next.generation != gw.snapshot.generation else { return }
        if next.generation == gw.snapshot.generation &+ 1, let delta = next.delta {
            for id in delta.removedListeners {
                if let i = gw.acceptorByListener.removeValue(forKey: id) { releaseRouteAcceptor(i) }
            }
            for entry in delta.upserted { takeRoute(entry, mark: next.generation) }
            for key in delta.removedKeys { gw.routeBalancers.removeValue(forKey: key) }
            for entry in delta.upserted { gw.routeBalancers.removeValue(forKey: entry.route.key) }
            if delta.servicesChanged && !gw.serviceBalancers.isEmpty {
                gw.serviceBalancers = gw.serviceBalancers.filter { next.services[$0.value.0.key] === $0.value.0 }
            }
            syncPools(from: gw.snapshot, to: next, delta: delta)
        } else {
            let mark = next.generation
            for (_, entry) in next.routes { takeRoute(entry, mark: mark) }
            if gw.acceptorByListener.count > next.routes.count {
                var removed: [(ObjectIdentifier, Int)] = []
                for (id, i) in gw.acceptorByListener where gw.acceptors[i].mark != mark { removed.append((id, i)) }
                for (id, i) in removed {
                    releaseRouteAcceptor(i)
                    gw.acceptorByListener.removeValue(forKey: id)
                }
            }
            if !gw.routeBalancers.isEmpty {
                gw.routeBalancers = gw.routeBalancers.filter { next.routes[$0.key]?.route === $0.value.0 }
            }
            if !gw.serviceBalancers.isEmpty {
                gw.serviceBalancers = gw.serviceBalancers.filter { next.services[$0.value.0.key] === $0.value.0 }
            }
            syncPools(from: gw.snapshot, to: next, delta: nil)
        }
        gw.snapshot = next
        topUpPools()  // with the credentials of `next`
        gw.publisher.loopApplied(index, generation: next.generation)
    }

    /// Makes sure this loop accepts on `entry`'s listener, with `entry`'s route.
    private func takeRoute(_ entry: PublishedRoute, mark: UInt64) {
        let gw = gateway!
        let id = ObjectIdentifier(entry.listener)
        if let i = gw.acceptorByListener[id] {
            gw.acceptors[i].mark = mark
            if gw.acceptors[i].route !== entry.route { gw.acceptors[i].route = entry.route }
            return
        }
        let i: Int
        if let free = gw.freeAcceptors.popLast() {
            i = free
        } else {
            i = gw.acceptors.count
            gw.acceptors.append(RouteAcceptor())
        }
        gw.acceptors[i].listener = entry.listener
        gw.acceptors[i].route = entry.route
        gw.acceptors[i].mark = mark
        gw.acceptorByListener[id] = i
        if accepting && !draining { armRouteAccept(i) }
    }

    func routeAcceptToken(_ i: Int) -> Token {
        Token(kind: .accept, slot: UInt32(i + 1), generation: gateway!.acceptors[i].generation)
    }

    func armRouteAccept(_ i: Int) {
        guard let gw = gateway, let l = gw.acceptors[i].listener, !gw.acceptors[i].armed else { return }
        gw.acceptors[i].armed = true
        backend.startAccept(listener: l.fd, token: routeAcceptToken(i), multishot: true)
    }

    func disarmRouteAccept(_ i: Int) {
        guard let gw = gateway, let l = gw.acceptors[i].listener, gw.acceptors[i].armed else { return }
        gw.acceptors[i].armed = false
        backend.stopAccept(listener: l.fd, token: routeAcceptToken(i))
    }

    /// Stops accepting on a removed route's listener and lets go of it (the last holder
    /// closes its port).
    func releaseRouteAcceptor(_ i: Int) {
        guard let gw = gateway else { return }
        disarmRouteAccept(i)
        gw.acceptors[i].listener = nil
        gw.acceptors[i].route = nil
        gw.acceptors[i].generation = (gw.acceptors[i].generation &+ 1) & 0xFF_FFFF
        gw.freeAcceptors.append(i)
    }

    /// Arms (or disarms) every route accept, with the loop's accepting state.
    func setRouteAccepts(armed: Bool) {
        guard let gw = gateway else { return }
        for i in gw.acceptors.indices where gw.acceptors[i].listener != nil {
            if armed { armRouteAccept(i) } else { disarmRouteAccept(i) }
        }
    }

    /// Draining: no more route accepts, and no more holds on their listeners.
    func releaseAllRouteAcceptors() {
        guard let gw = gateway else { return }
        for (_, i) in gw.acceptorByListener { releaseRouteAcceptor(i) }
        gw.acceptorByListener.removeAll()
    }

    /// An accept completion on a route listener.
    func routeAccepted(_ c: Completion) {
        let i = Int(c.token.slot) - 1
        guard let gw = gateway, i >= 0, i < gw.acceptors.count, gw.acceptors[i].generation == c.token.generation,
            let route = gw.acceptors[i].route
        else {
            // The route went away while this accept was in flight.
            if c.result >= 0 {
                Socket.armReset(c.result)
                Socket.close(c.result)
            }
            return
        }
        if c.result >= 0 {
            admit(fd: c.result, route: route)
            if !c.more && gw.acceptors[i].armed && gw.acceptors[i].generation == c.token.generation {
                gw.acceptors[i].armed = false
                if accepting { armRouteAccept(i) }
            }
            return
        }
        let e = Errno(rawValue: -c.result)
        if e.rawValue == ECANCELED || !gw.acceptors[i].armed { return }
        if c.more, let l = gw.acceptors[i].listener { backend.stopAccept(listener: l.fd, token: c.token) }
        gw.acceptors[i].armed = false
        acceptFailed(e, on: "the listener of \(route.key)")
    }

    // MARK: - Outbound

    /// The balancer over a route's gateways (one per route and loop).
    func routeBalancer(_ route: GatewayRoute) -> UpstreamBalancer {
        let gw = gateway!
        if let (r, b) = gw.routeBalancers[route.key], r === route { return b }
        let b = UpstreamBalancer(route.gateways, startingAt: index)
        gw.routeBalancers[route.key] = (route, b)
        return b
    }

    /// A local client on a route's listener: refused at once when the remote cluster is
    /// down, else (after its own mTLS handshake when the route requires one) connected to
    /// one of the route's gateways.
    func startOutbound(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, route: GatewayRoute) {
        counters.add(.gatewayOutbound)
        conn.pointee.role = .outbound
        conn.pointee.route = route
        attachTraffic(conn, Self.outboundKey(route))
        guard route.alive else {
            advance(conn, slot: slot, .routeDown)
            return
        }
        conn.pointee.upstreams = routeBalancer(route)
        conn.pointee.plan = plan(for: conn)
        advance(conn, slot: slot, .admitted)
    }

    /// Outbound, upstream handshake done: the transport header goes out as the first
    /// application record, in the same send as the client's Finished. A warm-pool connection
    /// sends `pooled` there, and its adopter the `connect` later.
    func writeTransportHeader(_ conn: UnsafeMutablePointer<Connection>, tls: TLSConnection) -> Bool {
        guard let route = conn.pointee.route else { return false }
        let header =
            conn.pointee.role == .pooled
            ? TransportHeader.pooled : TransportHeader.connect(route.target, clientIdentity: conn.pointee.clientIdentity)
        guard let bytes = try? header.encoded(), case .written = tls.writePlaintext(bytes) else { return false }
        return true
    }

    // MARK: - Inbound

    /// Reads the client's first plaintext until a whole header is there. Bytes after the
    /// header stay in the client→upstream buffer and go to the endpoint first.
    func readHeader(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32) {
        guard let tls = conn.pointee.downstreamTLS, let fd = conn.pointee.downstream else { return }
        let f = flow(conn, toUpstream: true)
        if f.pointee.buffer == nil, case .readingHeader(_, true) = conn.pointee.phase, !pooledStreamStirred(tls, fd) {
            return  // an idle pooled connection holds no buffer until its peer sends something
        }
        if f.pointee.buffer == nil {
            f.pointee.buffer = buffers.acquire()
            counters.add(.buffersInUse)
            f.pointee.pending = 0
            f.pointee.bufferOffset = 0
        }
        let buffer = f.pointee.buffer!
        // Room for one header and the record it arrives in.
        let room = min(buffers.size, TransportHeader.maxEncodedSize + 2 * TLSRecordLayer.maxPlaintext)
        while true {
            let have = Int(f.pointee.pending)
            switch TransportHeader.decode(UnsafeRawBufferPointer(start: buffer, count: have)) {
            case .complete(.pooled, let consumed):
                guard case .readingHeader(_, false) = conn.pointee.phase else {
                    refuseGateway(conn, slot: slot, .badHeader, "a second pooled header on one stream")
                    return
                }
                // A peer's warm-pool connection: it waits (no buffer held) for its connect.
                if have > consumed { memmove(buffer, buffer + consumed, have - consumed) }
                f.pointee.pending = Int32(have - consumed)
                f.pointee.bufferOffset = 0
                if f.pointee.pending == 0 { releaseChannel(f, force: true) }
                // Probed like the peer's side, so one whose path went silent is not held for
                // the whole pooledIdleTimeout.
                WarmPoolPolicy.probeWhileWaiting(fd.raw)
                advance(conn, slot: slot, .pooledHeader)  // reads on
                return
            case .complete(let header, let consumed):
                if case .readingHeader(_, true) = conn.pointee.phase {
                    guard case .connect = header else {
                        refuseGateway(conn, slot: slot, .badHeader, "only a connect header may follow a pooled header")
                        return
                    }
                    advance(conn, slot: slot, .pooledConnect)
                    Socket.clearKeepalive(fd.raw)
                    counters.subtract(.gatewayPoolInboundIdle)
                    counters.add(.gatewayInbound)
                }
                f.pointee.bufferOffset = Int32(consumed)
                f.pointee.pending = Int32(have - consumed)
                if f.pointee.pending == 0 {
                    f.pointee.bufferOffset = 0
                    releaseChannel(f, force: true)
                }
                route(conn, slot: slot, header: header, tls: tls)
                return
            case .invalid(let error):
                refuseGateway(conn, slot: slot, .badHeader, "\(error)")
                return
            case .needMoreBytes:
                break
            }
            if have < room {
                let space = UnsafeMutableRawBufferPointer(start: buffer + have, count: room - have)
                switch tls.readPlaintext(into: space) {
                case .bytes(let n) where n > 0:
                    f.pointee.pending += Int32(n)
                    continue
                case .bytes, .needMoreInput:
                    break
                default:
                    if pooledPeerLeft(conn, slot: slot, have: have) { return }
                    refuseGateway(conn, slot: slot, .badHeader, "the client ended its stream before a whole header")
                    return
                }
            } else {
                refuseGateway(conn, slot: slot, .badHeader, "no valid header in the first \(have) bytes")
                return
            }
            // Record by record, so that OpenSSL holds nothing beyond what it was asked to open.
            let shortfall = tls.incompleteRecordShortfall
            switch SocketIO.recv(fd, into: tlsScratch.baseAddress, count: min(shortfall > 0 ? shortfall : 5, tlsScratch.count)) {
            case .moved(let n):
                tls.receive(UnsafeRawBufferPointer(rebasing: tlsScratch[0..<n]))
                continue
            case .eof:
                if pooledPeerLeft(conn, slot: slot, have: have) { return }
                refuseGateway(conn, slot: slot, .badHeader, "the client closed before a whole header")
                return
            case .wouldBlock:
                return
            case .failed(let e):
                refuseGateway(conn, slot: slot, .badHeader, "the client socket failed: \(e)")
            }
            return
        }
    }

    /// Whether a waiting pooled connection has anything to act on: bytes in OpenSSL, or bytes,
    /// an end or an error on the socket (looked at without reading).
    private func pooledStreamStirred(_ tls: TLSConnection, _ fd: Descriptor) -> Bool {
        if tls.bufferedPlaintextCount > 0 || tls.unreadCiphertextCount > 0 { return true }
        if case .wouldBlock = SocketIO.recv(fd, into: tlsScratch.baseAddress, count: 1, flags: Int32(MSG_PEEK)) { return false }
        return true
    }

    /// A peer's pooled connection that ends with no header begun is its pool retiring it (or
    /// the peer going away): closed quietly, not a refusal. False for any other connection.
    private func pooledPeerLeft(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, have: Int) -> Bool {
        guard case .readingHeader(_, true) = conn.pointee.phase, have == 0 else { return false }
        close(slot, resetDownstream: false, resetUpstream: false)
        return true
    }

    /// Acts on a whole header: authorize and connect, answer a probe, or refuse.
    func route(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, header: TransportHeader, tls: TLSConnection) {
        guard let gw = gateway, let fd = conn.pointee.downstream else { return }
        switch header {
        case .connect(let target, let clientIdentity):
            guard let service = gw.snapshot.services["\(target.namespace)/\(target.name)"] else {
                refuseGateway(conn, slot: slot, .unknownService, "\(target.namespace)/\(target.name) is not a service here")
                return
            }
            attachTraffic(conn, TrafficKey(direction: .inbound, cluster: Self.peerCluster(tls.peerIdentity), service: service.key))
            guard service.exported else {
                refuseGateway(conn, slot: slot, .notExported, "\(service.key) is not exported")
                return
            }
            let peer = tls.peerIdentity
            guard service.allows(peer) else {
                refuseGateway(conn, slot: slot, .notAllowed, "\(peer?.description ?? "no identity") may not reach \(service.key)")
                return
            }
            guard gw.inbound.admits(peer, to: service) else {
                refuseGateway(
                    conn, slot: slot, .notAllowed,
                    "\(peer?.description ?? "no identity") is not a gateway identity and \(service.key)'s allow list does not name it (inbound.acceptWorkloads)")
                return
            }
            if let clientIdentity {
                guard let client = WorkloadIdentity(clientIdentity) else {
                    refuseGateway(conn, slot: slot, .badHeader, "client identity '\(clientIdentity)' is not an identity")
                    return
                }
                guard service.allows(client) else {
                    refuseGateway(conn, slot: slot, .notAllowed, "client \(client) (via \(peer?.description ?? "?")) may not reach \(service.key)")
                    return
                }
            }
            guard let endpoints = service.endpoints[target.port] else {
                refuseGateway(conn, slot: slot, .unknownPort, "\(service.key) has no port \(target.port)")
                return
            }
            guard !endpoints.isEmpty else {
                refuseGateway(conn, slot: slot, .noEndpoint, "\(service.key) has no endpoint for port \(target.port)")
                return
            }
            let key = ServicePortKey(service: ObjectIdentifier(service), port: target.port)
            let balancer: UpstreamBalancer
            if let (_, b) = gw.serviceBalancers[key] {
                balancer = b
            } else {
                balancer = UpstreamBalancer(endpoints, startingAt: index)
                gw.serviceBalancers[key] = (service, balancer)
            }
            conn.pointee.upstreams = balancer
            conn.pointee.lastActivity = now
            advance(conn, slot: slot, .headerAccepted)
        case .probe(let nonce):
            // The answer is the same header back; its round trip is the gateway latency.
            if let bytes = try? TransportHeader.probe(nonce: nonce).encoded(), case .written = tls.writePlaintext(bytes) {
                tls.sendCloseNotify(to: fd.raw)
                counters.add(.gatewayProbesAnswered)
            }
            close(slot, resetDownstream: false, resetUpstream: false)
        case .pooled:
            refuseGateway(conn, slot: slot, .badHeader, "a pooled header where a connect was due")
        case .discover(let cluster, let options):
            guard let server = gw.discovery else {
                refuseGateway(conn, slot: slot, .unsupportedKind, "discover is not served here")
                return
            }
            // The stream leaves the loop: its descriptor and TLS state pass to the discovery
            // server's thread; the slot closes without touching the socket. `release` cancels
            // the loop's watch before returning: the server may reset and close the socket at
            // once (a refused stream), and a watch left behind would keep the socket open.
            backend.release(fd: fd.raw)
            conn.pointee.downstream = nil
            counters.add(.gatewayDiscoverStreams)
            close(slot, resetDownstream: false, resetUpstream: false)
            server.takeOver(fd: fd.raw, tls: tls, peer: tls.peerIdentity, cluster: cluster, options: options)
        }
    }

    /// Ends a gateway connection after TLS: counted per reason, logged once per reason and
    /// second, the client reset so it cannot mistake the end for success.
    func refuseGateway(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, _ reason: GatewayRefusal, _ detail: String) {
        counters.add(.gatewayRefused)
        counters.add(reason.counter)
        conn.pointee.refusal = reason
        if conn.pointee.role == .inbound {
            // Before a header named a service that exists here: counted under `unknown`.
            let peer = Self.peerCluster(conn.pointee.downstreamTLS?.peerIdentity)
            attachTraffic(conn, TrafficKey(direction: .inbound, cluster: peer, service: "unknown"))
        }
        let side = conn.pointee.role == .outbound ? "outbound" : "inbound"
        limits.warning("gw-\(reason.key)", "loop \(index): \(side) connection refused (\(reason.key)): \(detail)")
        close(slot, resetDownstream: true, resetUpstream: true)
    }
}
