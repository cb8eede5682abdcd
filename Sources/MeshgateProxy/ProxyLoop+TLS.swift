#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim
import MeshgateLoop
import MeshgateTLS

/// TLS handshakes on either side, refusals, and the switch of a finished side to kernel TLS.
extension ProxyLoop {
    /// Starts the handshake of one side: the client side as server (terminating), the upstream
    /// side as client (originating).
    func startHandshake(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, upstreamSide: Bool, context: TLSContext) {
        let tls: TLSConnection
        do {
            tls = try TLSConnection(
                context: context, expectedPeerIdentity: upstreamSide ? config.tls.expectedUpstreamIdentity : nil,
                forKTLS: shared.kernelTLS)
        } catch {
            counters.add(upstreamSide ? .tlsRefusedUpstream : .tlsRefusedDownstream)
            counters.add(TLSRefusal.other.counter)
            limits.warning("tls-setup", "loop \(index): cannot start a TLS connection: \(error)")
            close(slot, resetDownstream: true, resetUpstream: true)
            return
        }
        if upstreamSide {
            conn.pointee.upstreamTLS = tls
            conn.pointee.upstreamMode = .userspaceTLS
            conn.pointee.state = .handshakingUpstream
        } else {
            conn.pointee.downstreamTLS = tls
            conn.pointee.downstreamMode = .userspaceTLS
            conn.pointee.state = .handshakingDownstream
        }
        conn.pointee.handshakeDeadline = now &+ handshakeTimeout
        conn.pointee.handshakeBytes = 0
        counters.add(.tlsHandshakesActive)
        driveHandshake(conn, slot: slot, upstreamSide: upstreamSide)
    }

    /// Moves the handshake of one side as far as the socket allows.
    func driveHandshake(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, upstreamSide: Bool) {
        guard let tls = upstreamSide ? conn.pointee.upstreamTLS : conn.pointee.downstreamTLS else { return }
        let fd = upstreamSide ? conn.pointee.upstream : conn.pointee.downstream
        // For kernel TLS, read record by record so that nothing after the peer's Finished
        // (application data, tickets) is taken into user space: the kernel reads it instead.
        let exact = shared.kernelTLS
        while true {
            if tls.pendingOutboundCount > 0 {
                var failure: Int32 = 0
                let sent = tls.sendOutbound { bytes in
                    let n = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
                    if n < 0 { failure = errno }
                    return max(0, n)
                }
                if failure == EAGAIN { return }  // the writable event calls back
                if failure != 0 && failure != EINTR {
                    refuse(conn, slot: slot, upstreamSide: upstreamSide, .peerClosed, "sending the handshake failed: \(Errno(rawValue: failure))")
                    return
                }
                if sent > 0 { continue }
            }
            switch tls.handshake() {
            case .complete:
                if tls.pendingOutboundCount > 0 {
                    // The last flight could not go out at once; the data path sends it first.
                    _ = tls.sendOutbound { bytes in max(0, send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))) }
                }
                handshakeComplete(conn, slot: slot, upstreamSide: upstreamSide, tls: tls)
                return
            case .failed(let error):
                // Best effort: the alert tells the peer why.
                _ = tls.sendOutbound { bytes in max(0, send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))) }
                refuse(conn, slot: slot, upstreamSide: upstreamSide, TLSRefusal(error), error.description)
                return
            case .inProgress:
                if tls.pendingOutboundCount > 0 { continue }
            }
            let shortfall = tls.incompleteRecordShortfall
            let want = exact ? (shortfall > 0 ? shortfall : 5) : tlsScratch.count
            let n = recv(fd, tlsScratch.baseAddress, min(want, tlsScratch.count), 0)
            if n > 0 {
                if conn.pointee.handshakeBytes == 0 && !upstreamSide && tlsScratch[0] != 22 {
                    // Not a TLS handshake record: plain text, HTTP, garbage.
                    refuse(conn, slot: slot, upstreamSide: false, .notTLS, "the client did not start with a TLS handshake record")
                    return
                }
                conn.pointee.handshakeBytes &+= Int32(truncatingIfNeeded: n)
                tls.receive(UnsafeRawBufferPointer(rebasing: tlsScratch[0..<n]))
                continue
            }
            if n == 0 {
                tls.receiveEOF()
                if case .failed(let error) = tls.handshake() {
                    refuse(conn, slot: slot, upstreamSide: upstreamSide, TLSRefusal(error), error.description)
                } else {
                    refuse(conn, slot: slot, upstreamSide: upstreamSide, .peerClosed, "the peer closed during the handshake")
                }
                return
            }
            let e = errno
            if e == EAGAIN { return }
            if e == EINTR { continue }
            refuse(conn, slot: slot, upstreamSide: upstreamSide, .peerClosed, "the handshake socket failed: \(Errno(rawValue: e))")
            return
        }
    }

    /// A side proved its identity: the client side goes on to connect upstream, the upstream
    /// side opens the connection.
    func handshakeComplete(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, upstreamSide: Bool, tls: TLSConnection) {
        counters.subtract(.tlsHandshakesActive)
        conn.pointee.lastActivity = now
        if upstreamSide {
            counters.add(.tlsHandshakesUpstream)
            if tls.isSessionReused { counters.add(.tlsSessionsResumed) }
            open(conn, slot: slot)
        } else {
            counters.add(.tlsHandshakesDownstream)
            conn.pointee.state = .connecting
            connect(conn, slot: slot, upstream: balancer.first(now: now))
        }
    }

    /// Ends a connection whose handshake failed: counted per side and per reason, logged once
    /// per reason and second.
    func refuse(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, upstreamSide: Bool, _ reason: TLSRefusal, _ detail: String) {
        counters.add(upstreamSide ? .tlsRefusedUpstream : .tlsRefusedDownstream)
        counters.add(reason.counter)
        let who = upstreamSide ? "upstream \(balancer.descriptions[Int(conn.pointee.upstreamIndex)])" : "client"
        limits.warning(
            "tls-\(upstreamSide ? "up" : "down")-\(reason.key)", "loop \(index): TLS handshake with \(who) refused (\(reason.key)): \(detail)")
        // The client of a failed upstream handshake gets a reset: it must not mistake the end for success.
        close(slot, resetDownstream: upstreamSide, resetUpstream: false)
    }

    /// Both sides are ready: decide how each TLS side carries bytes, then start moving them.
    func open(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32) {
        conn.pointee.state = .open
        conn.pointee.lastActivity = now
        for upstreamSide in [true, false] {
            let mode = upstreamSide ? conn.pointee.upstreamMode : conn.pointee.downstreamMode
            guard mode == .userspaceTLS else { continue }
            // Bytes may already wait in the socket or in OpenSSL: look.
            if upstreamSide { conn.pointee.toDownstream.sourceReadable = true } else { conn.pointee.toUpstream.sourceReadable = true }
            if shared.kernelTLS {
                if !switchToKernelTLS(conn, slot: slot, upstreamSide: upstreamSide) { return }
            } else {
                if shared.kernelTLSMissing { counters.add(.ktlsUnavailable) }
                counters.add(.tlsUserspaceSides)
            }
            // The handshake grew the buffers; an idle connection should not keep that.
            (upstreamSide ? conn.pointee.upstreamTLS : conn.pointee.downstreamTLS)?.compactBuffers()
        }
        for toUpstream in [true, false] {
            let ends = self.ends(conn, toUpstream: toUpstream)
            if ends.sourceTLS != nil || ends.destinationTLS != nil {
                flow(conn, toUpstream: toUpstream).pointee.copyPath = true
            }
        }
        pumpBoth(conn, slot: slot)
    }

    /// Hands one side's TLS to the kernel: what OpenSSL already decrypted is queued for the
    /// other side, the keys and record sequence numbers go into the socket, and the SSL object
    /// is freed. A side that cannot switch stays in user space. Returns false when the
    /// connection had to be closed.
    func switchToKernelTLS(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, upstreamSide: Bool) -> Bool {
        guard let tls = upstreamSide ? conn.pointee.upstreamTLS : conn.pointee.downstreamTLS else { return true }
        let fd = upstreamSide ? conn.pointee.upstream : conn.pointee.downstream
        func stayInUserSpace(_ why: String) -> Bool {
            counters.add(.tlsUserspaceSides)
            limits.warning("ktls-skip", "loop \(index): a TLS side stays in user space: \(why)")
            return true
        }
        guard tls.pendingOutboundCount == 0 else { return stayInUserSpace("handshake bytes still waiting to be sent") }
        // Complete a record cut short at the end of the handshake's reads.
        while tls.incompleteRecordShortfall > 0 {
            let n = recv(fd, tlsScratch.baseAddress, min(tls.incompleteRecordShortfall, tlsScratch.count), 0)
            guard n > 0 else { return stayInUserSpace("a partial record did not complete at once") }
            tls.receive(UnsafeRawBufferPointer(rebasing: tlsScratch[0..<n]))
        }
        // Plaintext already in OpenSSL goes to the other side before anything spliced.
        let f = flow(conn, toUpstream: !upstreamSide)
        while tls.unreadCiphertextCount > 0 || tls.bufferedPlaintextCount > 0 {
            if f.pointee.buffer == nil {
                f.pointee.buffer = buffers.acquire()
                counters.add(.buffersInUse)
                f.pointee.bufferOffset = 0
            }
            let used = Int(f.pointee.pending)
            guard used < buffers.size else { return stayInUserSpace("more early data than one buffer") }
            let space = UnsafeMutableRawBufferPointer(start: f.pointee.buffer! + used, count: buffers.size - used)
            switch tls.readPlaintext(into: space) {
            case .bytes(let n) where n > 0:
                f.pointee.pending += Int32(n)
                f.pointee.drainBufferFirst = true
            case .closeNotify:
                f.pointee.sourceEOF = true
            default:
                return stayInUserSpace("early data did not decrypt cleanly")
            }
            if f.pointee.sourceEOF { break }
        }
        guard tls.isDrainedForKTLS || f.pointee.sourceEOF else { return stayInUserSpace("OpenSSL still holds received bytes") }
        let keys: KTLSKeys
        do { keys = try tls.ktlsKeys() } catch { return stayInUserSpace("\(error)") }
        switch KernelTLS.install(fd: fd, keys: keys) {
        case .installed:
            counters.add(.ktlsTXSides)
            counters.add(.ktlsRXSides)
        case .refused(let e):
            counters.add(e.rawValue == ENOENT ? .ktlsUnavailable : .ktlsFailures)
            return stayInUserSpace("the kernel refused the keys: \(e)")
        case .broken(let e):
            counters.add(.ktlsFailures)
            limits.warning("ktls-broken", "loop \(index): kernel TLS RX keys refused (\(e)) after TX keys went in; closing")
            close(slot, resetDownstream: true, resetUpstream: true)
            return false
        }
        if upstreamSide {
            conn.pointee.upstreamTLS = nil
            conn.pointee.upstreamMode = .kernelTLS
        } else {
            conn.pointee.downstreamTLS = nil
            conn.pointee.downstreamMode = .kernelTLS
        }
        return true
    }

    /// Refuses handshakes past their deadline (called from the sweep).
    func expireHandshake(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32) {
        let upstreamSide = conn.pointee.state == .handshakingUpstream
        refuse(
            conn, slot: slot, upstreamSide: upstreamSide, .handshakeTimeout,
            "not finished within \(config.tls.handshakeTimeout) (\(conn.pointee.handshakeBytes) bytes received)")
    }
}
