import COpenSSL

/// The ciphertext side: bytes from and for the socket, and the handshake.
extension TLSConnection {
    /// Feeds ciphertext received from the socket.
    public func receive(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        inboundRecords?.consume(bytes)
        var offset = 0
        while offset < bytes.count {
            let chunk = Int32(clamping: bytes.count - offset)
            let written = BIO_write(readBIO, base + offset, chunk)  // a memory BIO takes everything
            precondition(written == chunk, "memory BIO refused \(chunk) bytes")
            offset += Int(written)
        }
    }

    /// Feeds ciphertext received from the socket.
    public func receive(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { receive($0) }
    }

    /// The socket reached end of stream (FIN): once the buffered bytes are used up, a read
    /// reports ``TLSReadResult/closeNotify`` if close_notify came first, else ``TLSReadResult/truncated``.
    public func receiveEOF() {
        _ = mg_BIO_set_mem_eof_return(readBIO, 0)
    }

    /// Ciphertext waiting to be sent.
    public var pendingOutboundCount: Int { Int(mg_BIO_pending(writeBIO)) }

    /// Moves up to `buffer.count` bytes of ciphertext to send into `buffer`; returns how many.
    public func takeOutbound(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return 0 }
        let read = BIO_read(writeBIO, base, Int32(clamping: buffer.count))
        return max(0, Int(read))
    }

    /// Offers the waiting ciphertext to `send` without copying it out first; `send` returns how
    /// many bytes it took (0 when the socket would block), and those leave the buffer. Returns
    /// that count.
    public func sendOutbound(_ send: (UnsafeRawBufferPointer) -> Int) -> Int {
        var data: UnsafeMutablePointer<CChar>?
        let length = Int(BIO_ctrl(writeBIO, BIO_CTRL_INFO, 0, &data))
        guard length > 0, let data else { return 0 }
        let sent = min(length, max(0, send(UnsafeRawBufferPointer(start: data, count: length))))
        var left = sent
        withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 16) { scratch in
            while left > 0 {
                let n = BIO_read(writeBIO, scratch.baseAddress, Int32(min(left, scratch.count)))
                guard n > 0 else { break }
                left -= Int(n)
            }
        }
        return sent
    }

    /// All ciphertext waiting to be sent.
    public func takeOutbound() -> [UInt8] {
        let count = pendingOutboundCount
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = takeOutbound(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// Drives the handshake with the bytes received so far.
    public func handshake() -> TLSHandshakeResult {
        switch state {
        case .established: return .complete
        case .failed(let error): return .failed(error)
        case .handshaking: break
        }
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 { return completeHandshake() }
        let result = SSLResult(ssl, returnCode: rc)
        if result == .wantRead || result == .wantWrite {
            decideTicketsAfterClientHello()
            return .inProgress
        }
        let errors = OpenSSLError.drainQueue()
        return .failed(fail(FailureClassifier.handshake(ssl: ssl, result: result, observer: observer, errors: errors)))
    }

    /// Checks what OpenSSL cannot: the agreed ALPN (client side) and, for a resumed session
    /// whose certificate was not verified again, the identity policy.
    private func completeHandshake() -> TLSHandshakeResult {
        let wanted = context.configuration.applicationProtocol
        guard negotiatedApplicationProtocol == wanted else {
            return .failed(fail(.alpnMismatch("peer selected \(negotiatedApplicationProtocol ?? "no protocol"), not \(wanted)")))
        }
        if !isSessionReused, let verified = observer.verifiedPeerIdentity {
            // A full handshake: the verify callback has applied the policy to this identity.
            peerIdentity = verified
            VerifiedIssuers.remember(from: ssl, in: context)
            state = .established
            return .complete
        }
        guard let certificate = SSL_get0_peer_certificate(ssl) else {
            return .failed(fail(TLSError(.peerCertificateRequired, "peer presented no certificate")))
        }
        let found = CertificateIdentity.of(certificate)
        if let failure = observer.checkPeer(found) { return .failed(fail(failure)) }
        peerIdentity = found.identity
        state = .established
        return .complete
    }

    /// Records `error` as the end of the connection and returns it.
    @discardableResult
    func fail(_ error: TLSError) -> TLSError {
        state = .failed(error)
        return error
    }
}
