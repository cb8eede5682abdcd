import COpenSSL

/// Handing a connection over to kernel TLS: what is still buffered in user space, and the keys.
extension TLSConnection {
    /// Decrypted bytes OpenSSL holds that ``readPlaintext(into:)`` has not returned yet.
    public var bufferedPlaintextCount: Int { Int(SSL_pending(ssl)) }

    /// Received ciphertext bytes OpenSSL has not consumed yet.
    public var unreadCiphertextCount: Int { Int(mg_BIO_pending(readBIO)) }

    /// Bytes missing from the last received record (only tracked for `forKTLS` connections):
    /// read exactly this many from the socket and ``receive(_:)`` them, and repeat
    /// until 0, before switching, so the kernel starts at a record boundary.
    public var incompleteRecordShortfall: Int { inboundRecords?.shortfall ?? 0 }

    /// True when nothing is left in user space: the handshake is complete, the last record is
    /// whole, and every received record has been read and returned. Then ``ktlsKeys()`` is exact.
    public var isDrainedForKTLS: Bool {
        isHandshakeComplete && incompleteRecordShortfall == 0 && unreadCiphertextCount == 0 && bufferedPlaintextCount == 0
    }

    /// The TX and RX keys and record sequence numbers for the kernel, as of now. Requires a
    /// connection made with `forKTLS: true`, a complete handshake, and no KeyUpdate since.
    /// Take them after draining (``isDrainedForKTLS``) and flushing ``takeOutbound()``.
    public func ktlsKeys() throws(TLSError) -> KTLSKeys {
        let m = try trafficMaterial()
        return KTLSKeys(
            cipher: m.cipher,
            tx: try Self.trafficKeys(secret: m.txSecret, cipher: m.cipher, digest: m.digest, sequence: observer.recordsSent),
            rx: try Self.trafficKeys(secret: m.rxSecret, cipher: m.cipher, digest: m.digest, sequence: observer.recordsReceived))
    }

    /// A user-space record layer that carries on from here, so this connection (and its `SSL`
    /// object) can be dropped. Same preconditions as ``ktlsKeys()``.
    public func recordLayer() throws(TLSError) -> TLSRecordLayer {
        let m = try trafficMaterial()
        return TLSRecordLayer(
            cipher: m.cipher, digest: m.digest,
            tx: try TLSRecordLayer.keys(secret: m.txSecret, cipher: m.cipher, digest: m.digest, sequence: observer.recordsSent),
            rx: try TLSRecordLayer.keys(secret: m.rxSecret, cipher: m.cipher, digest: m.digest, sequence: observer.recordsReceived))
    }

    /// Marks the connection as handed over (to kernel TLS or a ``TLSRecordLayer``) before it is
    /// dropped: OpenSSL would otherwise treat the unclosed connection as failed and make its
    /// session, which the session cache may hold, non-resumable.
    public func markHandedOver() {
        SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN)
    }

    /// Records read under the application keys so far (the next RX record sequence number).
    public var applicationRecordsReceived: UInt64 { observer.recordsReceived }

    /// NewSessionTicket messages received so far (client side).
    public var sessionTicketsReceived: Int { observer.ticketsReceived }

    private func trafficMaterial() throws(TLSError) -> (cipher: KTLSKeys.Cipher, digest: String, txSecret: [UInt8], rxSecret: [UInt8]) {
        guard observer.capturesKeyMaterial else {
            throw TLSError(.keyMaterialUnavailable, "connection was not made for kTLS")
        }
        guard isHandshakeComplete else { throw TLSError(.keyMaterialUnavailable, "handshake not complete") }
        guard !observer.keyUpdated else { throw TLSError(.keyMaterialUnavailable, "a KeyUpdate replaced the traffic keys") }
        guard let clientSecret = observer.clientTrafficSecret, let serverSecret = observer.serverTrafficSecret else {
            throw TLSError(.keyMaterialUnavailable, "traffic secrets were not captured")
        }
        guard let suite = SSL_get_current_cipher(ssl), let md = SSL_CIPHER_get_handshake_digest(suite),
            let digestName = EVP_MD_get0_name(md)
        else { throw TLSError(.keyMaterialUnavailable, "no negotiated cipher") }
        let cipher: KTLSKeys.Cipher
        switch SSL_CIPHER_get_protocol_id(suite) {
        case 0x1301: cipher = .aes128GCM
        case 0x1302: cipher = .aes256GCM
        default: throw TLSError(.keyMaterialUnavailable, "cipher suite \(cipherSuite ?? "?") has no kTLS mapping")
        }
        let digest = String(cString: digestName)
        let (txSecret, rxSecret) = role == .client ? (clientSecret, serverSecret) : (serverSecret, clientSecret)
        return (cipher, digest, txSecret, rxSecret)
    }

    private static func trafficKeys(
        secret: [UInt8], cipher: KTLSKeys.Cipher, digest: String, sequence: UInt64
    ) throws(TLSError) -> KTLSKeys.TrafficKeys {
        let keys = try TLSRecordLayer.keys(secret: secret, cipher: cipher, digest: digest, sequence: sequence)
        return KTLSKeys.TrafficKeys(key: keys.key, fullIV: keys.iv, recordSequence: sequence)
    }
}
