#if canImport(Glibc)
import Glibc
#endif
import MeshgateLoop
import MeshgateNames
import MeshgateTLS

/// TLS handshakes on either side, refusals, and the switch of a finished side to kernel TLS.
extension ProxyLoop {
    /// Starts the handshake of one side (the lifecycle is already `handshaking`): the client
    /// side as server (terminating), the upstream side as client (originating). A client's
    /// `SSL` object is only made once its first bytes arrive, so a connection that sends
    /// nothing costs a slot, not OpenSSL state.
    func startHandshake(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, upstreamSide: Bool) {
        conn.pointee.handshakeBytes = 0
        counters.add(.tlsHandshakesActive)
        driveHandshake(conn, slot: slot, upstreamSide: upstreamSide)
    }

    /// The side's OpenSSL connection, made on first use; nil when the connection was closed.
    private func handshakeConnection(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, upstreamSide: Bool) -> TLSConnection? {
        if let tls = upstreamSide ? conn.pointee.upstreamTLS : conn.pointee.downstreamTLS { return tls }
        let context: TLSContext?
        let expected: WorkloadIdentity?
        if let gw = gateway, conn.pointee.role != .proxy {
            // The credentials current now: a rotated certificate applies to new handshakes.
            context = upstreamSide ? gw.snapshot.credentials.client : gw.snapshot.credentials.server
            expected = upstreamSide ? conn.pointee.route?.expectedIdentity : nil
        } else {
            context = upstreamSide ? config.tls.upstream : config.tls.downstream
            expected = upstreamSide ? config.tls.expectedUpstreamIdentity : nil
        }
        guard let context else { return nil }
        do {
            let tls = try TLSConnection(context: context, expectedPeerIdentity: expected, forKTLS: true)
            conn.pointee.setTransport(.openSSL(tls), upstreamSide: upstreamSide)
            return tls
        } catch {
            refuse(conn, slot: slot, upstreamSide: upstreamSide, .other, "cannot start a TLS connection: \(error)")
            return nil
        }
    }

    /// Moves the handshake of one side as far as the socket allows.
    func driveHandshake(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, upstreamSide: Bool) {
        guard let fd = conn.pointee.socket(upstreamSide: upstreamSide) else { return }
        if !upstreamSide && conn.pointee.downstreamTLS == nil {
            // Wait for the client's first byte, and look at it before paying for OpenSSL.
            switch SocketIO.recv(fd, into: tlsScratch.baseAddress, count: 1, flags: Int32(MSG_PEEK)) {
            case .moved: break
            case .wouldBlock: return
            case .eof, .failed:
                refuse(conn, slot: slot, upstreamSide: false, .peerClosed, "the client closed before the handshake")
                return
            }
            guard tlsScratch[0] == 22 else {
                // Not a TLS handshake record: plain text, HTTP, garbage.
                refuse(conn, slot: slot, upstreamSide: false, .notTLS, "the client did not start with a TLS handshake record")
                return
            }
        }
        guard let tls = handshakeConnection(conn, slot: slot, upstreamSide: upstreamSide) else { return }
        // Read record by record so that nothing after the peer's Finished (application data,
        // tickets) is taken into OpenSSL: the record layer or the kernel reads it instead.
        while true {
            if tls.pendingOutboundCount > 0 {
                let (sent, stopped) = tls.sendOutbound(to: fd.raw)
                switch stopped {
                case .wouldBlock?: return  // the writable event calls back
                case .failed(let e)?:
                    refuse(conn, slot: slot, upstreamSide: upstreamSide, .peerClosed, "sending the handshake failed: \(e)")
                    return
                case .eof?, .moved?:
                    refuse(conn, slot: slot, upstreamSide: upstreamSide, .peerClosed, "sending the handshake failed: \(Errno.brokenPipe)")
                    return
                case nil:
                    if sent > 0 { continue }
                }
            }
            switch tls.handshake() {
            case .complete:
                if upstreamSide && (conn.pointee.role == .outbound || conn.pointee.role == .pooled) && !writeTransportHeader(conn, tls: tls) {
                    refuse(conn, slot: slot, upstreamSide: true, .other, "cannot write the transport header")
                    return
                }
                if tls.pendingOutboundCount > 0 {
                    // The last flight could not go out at once; the data path sends it first.
                    tls.sendOutbound(to: fd.raw)
                }
                handshakeComplete(conn, slot: slot, upstreamSide: upstreamSide, tls: tls)
                return
            case .failed(let error):
                // Best effort: the alert tells the peer why.
                tls.sendOutbound(to: fd.raw)
                refuse(conn, slot: slot, upstreamSide: upstreamSide, TLSRefusal(error), error.description)
                return
            case .inProgress:
                if tls.pendingOutboundCount > 0 { continue }
            }
            let shortfall = tls.incompleteRecordShortfall
            switch SocketIO.recv(fd, into: tlsScratch.baseAddress, count: min(shortfall > 0 ? shortfall : 5, tlsScratch.count)) {
            case .moved(let n):
                conn.pointee.handshakeBytes &+= Int32(truncatingIfNeeded: n)
                tls.receive(UnsafeRawBufferPointer(rebasing: tlsScratch[0..<n]))
                continue
            case .eof:
                tls.receiveEOF()
                if case .failed(let error) = tls.handshake() {
                    refuse(conn, slot: slot, upstreamSide: upstreamSide, TLSRefusal(error), error.description)
                } else {
                    refuse(conn, slot: slot, upstreamSide: upstreamSide, .peerClosed, "the peer closed during the handshake")
                }
                return
            case .wouldBlock:
                return
            case .failed(let e):
                refuse(conn, slot: slot, upstreamSide: upstreamSide, .peerClosed, "the handshake socket failed: \(e)")
                return
            }
        }
    }

    /// A side proved its identity: the client side goes on to connect upstream, the upstream
    /// side opens the connection.
    func handshakeComplete(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, upstreamSide: Bool, tls: TLSConnection) {
        counters.subtract(.tlsHandshakesActive)
        conn.pointee.lastActivity = now
        if case .handshaking(_, let startedAt, _) = conn.pointee.phase {
            traffic.observeHandshake(nanoseconds: MonotonicClock.nanoseconds() &- startedAt)
        }
        if upstreamSide {
            counters.add(.tlsHandshakesUpstream)
            if tls.isSessionReused { counters.add(.tlsSessionsResumed) }
        } else {
            counters.add(.tlsHandshakesDownstream)
            if tls.isSessionReused { counters.add(.tlsSessionsResumedDownstream) }
            // Outbound: the local client's verified identity travels in the header.
            if conn.pointee.role == .outbound { conn.pointee.clientIdentity = tls.peerIdentity?.spiffeURI }
        }
        // Upstream: open. Client: the header (gateway inbound) or the upstream connect.
        advance(conn, slot: slot, .handshakeDone(upstreamSide ? .upstream : .downstream))
    }

    /// Ends a connection whose handshake failed: counted per side and per reason, logged once
    /// per reason and second.
    func refuse(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, upstreamSide: Bool, _ reason: TLSRefusal, _ detail: String) {
        counters.add(upstreamSide ? .tlsRefusedUpstream : .tlsRefusedDownstream)
        counters.add(reason.counter)
        let who = upstreamSide ? "upstream \((conn.pointee.upstreams ?? balancer).descriptions[Int(conn.pointee.upstreamIndex)])" : "client"
        limits.warning(
            "tls-\(upstreamSide ? "up" : "down")-\(reason.key)", "loop \(index): TLS handshake with \(who) refused (\(reason.key)): \(detail)")
        // The client of a failed upstream handshake gets a reset: it must not mistake the end for success.
        close(slot, resetDownstream: upstreamSide, resetUpstream: false)
    }

    /// Both sides are ready: TLS sides hand their writing over from OpenSSL (to the kernel or
    /// the record layer), and their reading where nothing is left for OpenSSL to read; then
    /// bytes start to move.
    func open(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32) {
        conn.pointee.lastActivity = now
        for upstreamSide in [false, true] {
            guard let tls = upstreamSide ? conn.pointee.upstreamTLS : conn.pointee.downstreamTLS else { continue }
            // Bytes may already wait in the socket: look.
            if upstreamSide { conn.pointee.toDownstream.sourceReadable = true } else { conn.pointee.toUpstream.sourceReadable = true }
            if !handOverWriting(conn, slot: slot, upstreamSide: upstreamSide, tls: tls) { return }
        }
        let generation = conn.pointee.generation
        guard handOverIfReady(conn, slot: slot, pumpAfter: false), slab.live(slot, generation: generation) != nil else { return }
        pumpBoth(conn, slot: slot)
    }

    /// Whether an OpenSSL side may hand its reading over as far as TLS goes: a client that
    /// resumes sessions first reads the session ticket it awaits, which only OpenSSL can store —
    /// unless the server sends data first (then tickets, if any, come too late to wait for).
    func handOverAllowed(_ tls: TLSConnection) -> Bool {
        !tls.awaitsSessionTicket || tls.plaintextBytesRead > 0
    }

    /// Hands the reading of OpenSSL sides over where they are ready, and pumps again when any
    /// did (unless `pumpAfter` is false). Returns false when the connection was closed.
    func handOverIfReady(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, pumpAfter: Bool = true) -> Bool {
        var changed = false
        for upstreamSide in [false, true] {
            let bit: UInt8 = upstreamSide ? 2 : 1
            guard case .openSSL(let tls) = conn.pointee.transport(upstreamSide: upstreamSide).rx,
                conn.pointee.handOverFailed & bit == 0, handOverAllowed(tls)
            else { continue }
            switch handOverReading(conn, slot: slot, upstreamSide: upstreamSide, tls: tls) {
            case .notYet: continue
            case .done: changed = true
            case .closed: return false
            }
        }
        guard changed && pumpAfter else { return true }
        let generation = conn.pointee.generation
        pumpBoth(conn, slot: slot)
        return slab.live(slot, generation: generation) != nil
    }

    enum HandOver { case notYet, done, closed }

    /// Right after the handshake: this side's writing moves to kernel TLS (TX keys in the
    /// socket) when the kernel has it, else to the record layer. OpenSSL keeps only reading,
    /// until ``handOverReading``. Returns false when the connection was closed.
    func handOverWriting(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, upstreamSide: Bool, tls: TLSConnection) -> Bool {
        guard let fd = conn.pointee.socket(upstreamSide: upstreamSide) else { return true }
        guard tls.pendingOutboundCount == 0 else {
            // The last handshake flight is still going out: OpenSSL keeps this side (rare).
            return advance(conn, slot: slot, .handOverFailed(ConnectionSide(upstreamSide: upstreamSide), .flightPending))
        }
        let tx: Transport
        do {
            if shared.kernelTLS, let failure = KernelTLS.installTX(fd: fd.raw, cryptoInfo: try tls.ktlsKeys().cryptoInfo(.tx)) {
                counters.add(failure.rawValue == ENOENT ? .ktlsUnavailable : .ktlsFailures)
                limits.warning("ktls-refused", "loop \(index): the kernel refused TLS keys (\(failure)); this side stays in user space")
                tx = .records(try tls.recordLayer())
            } else if shared.kernelTLS {
                counters.add(.ktlsTXSides)
                tx = .kernelTLS
            } else {
                if shared.kernelTLSMissing { counters.add(.ktlsUnavailable) }
                tx = .records(try tls.recordLayer())
            }
        } catch {
            limits.warning("tls-handover", "loop \(index): TLS stays in OpenSSL for a connection: \(error)")
            return advance(conn, slot: slot, .handOverFailed(ConnectionSide(upstreamSide: upstreamSide), .noKeys))
        }
        if tx.records != nil { counters.add(.tlsUserspaceSides) }
        logger.debug(
            "loop \(index): slot \(slot): \(upstreamSide ? "upstream" : "client") side TLS \(tls.cipherSuite ?? "?")\(tls.isSessionReused ? " (resumed)" : ""), \(tx.isKernelTLS ? "kernel TLS + splice" : "user-space records")")
        var side = conn.pointee.transport(upstreamSide: upstreamSide)
        side.tx = tx
        conn.pointee.setTransport(side, upstreamSide: upstreamSide)
        return true
    }

    /// Moves one side's reading from OpenSSL to where its writing went, and frees the `SSL`
    /// object. Only at a clean point: nothing received and unread, the last record whole.
    func handOverReading(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, upstreamSide: Bool, tls: TLSConnection) -> HandOver {
        guard let fd = conn.pointee.socket(upstreamSide: upstreamSide) else { return .notYet }
        guard tls.pendingOutboundCount == 0 else { return .notYet }
        while tls.incompleteRecordShortfall > 0 {
            guard case .moved(let n) = SocketIO.recv(fd, into: tlsScratch.baseAddress, count: min(tls.incompleteRecordShortfall, tlsScratch.count))
            else { return .notYet }  // the data path sees EOF or errors itself
            tls.receive(UnsafeRawBufferPointer(rebasing: tlsScratch[0..<n]))
        }
        guard tls.isDrainedForKTLS else { return .notYet }
        var side = conn.pointee.transport(upstreamSide: upstreamSide)
        switch side.tx {
        case .kernelTLS:
            let failure: Errno?
            do { failure = KernelTLS.installRX(fd: fd.raw, cryptoInfo: try tls.ktlsKeys().cryptoInfo(.rx)) } catch { failure = Errno(rawValue: EPROTO) }
            if let failure {
                counters.add(.ktlsFailures)
                limits.warning("ktls-broken", "loop \(index): kernel TLS RX keys refused (\(failure)) after TX keys went in; closing")
                advance(conn, slot: slot, .handOverFailed(ConnectionSide(upstreamSide: upstreamSide), .kernelRXRefused))
                return .closed
            }
            counters.add(.ktlsRXSides)
        case .records(let layer):
            layer.continueReading(atSequence: tls.applicationRecordsReceived)
        default:
            advance(conn, slot: slot, .handOverFailed(ConnectionSide(upstreamSide: upstreamSide), .writingStayed))
            return .notYet
        }
        tls.markHandedOver()
        side.rx = side.tx  // the last use of the SSL object goes with it
        conn.pointee.setTransport(side, upstreamSide: upstreamSide)
        return .done
    }
}
