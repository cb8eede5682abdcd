#if canImport(Glibc)
    import Glibc
#endif
import COpenSSL

/// The C callbacks a ``TLSContext`` installs. Each finds its connection's ``HandshakeObserver``
/// through the `SSL*` it is given; none captures Swift state.
enum OpenSSLCallbacks {
    /// Certificate verification, once per chain element (root first). At the leaf, after the
    /// chain has verified, applies the identity policy.
    static let verify: @convention(c) (Int32, OpaquePointer?) -> Int32 = { preverifyOK, store in
        guard preverifyOK == 1, let store, X509_STORE_CTX_get_error_depth(store) == 0 else { return preverifyOK }
        guard let rawSSL = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()),
            let observer = HandshakeObserver.of(OpaquePointer(rawSSL)),
            let leaf = X509_STORE_CTX_get_current_cert(store)
        else { return 0 }
        let found = CertificateIdentity.of(leaf)
        if let failure = observer.checkPeer(found) {
            observer.failure = failure
            X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION)
            return 0
        }
        // The whole chain has verified by now (the leaf comes last): bind gateway identities
        // to their cluster's issuer.
        if observer.context.configuration.bindsGatewayIssuers, let identity = found.identity,
            let failure = IssuerBinding.check(identity, chain: X509_STORE_CTX_get0_chain(store))
        {
            observer.failure = failure
            X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION)
            return 0
        }
        observer.verifiedPeerIdentity = found.identity
        return 1
    }

    /// Server: a ClientHello without ALPN is refused with no_application_protocol (the ALPN
    /// select callback only runs when the extension is present).
    static let clientHello: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32 = {
        ssl, alert, _ in
        guard let ssl else { return SSL_CLIENT_HELLO_ERROR }
        var data: UnsafePointer<UInt8>?
        var length = 0
        if SSL_client_hello_get0_ext(ssl, UInt32(TLSEXT_TYPE_application_layer_protocol_negotiation), &data, &length) == 1 {
            return SSL_CLIENT_HELLO_SUCCESS
        }
        // A client that cannot speak TLS 1.3 is refused for that first (protocol_version), as it
        // is when it does offer ALPN: its missing ALPN is the lesser problem.
        guard offersTLS13(ssl) else {
            HandshakeObserver.of(ssl)?.failure = TLSError(.protocolVersion, "peer does not speak TLS 1.3 (no TLS 1.3 in its ClientHello)")
            alert?.pointee = SSL_AD_PROTOCOL_VERSION
            return SSL_CLIENT_HELLO_ERROR
        }
        HandshakeObserver.of(ssl)?.failure = .alpnMismatch("client offered no ALPN protocol")
        alert?.pointee = SSL_AD_NO_APPLICATION_PROTOCOL
        return SSL_CLIENT_HELLO_ERROR
    }

    /// Whether the ClientHello's supported_versions extension lists TLS 1.3 (a TLS 1.2-only
    /// client sends no such extension).
    static func offersTLS13(_ ssl: OpaquePointer) -> Bool {
        var data: UnsafePointer<UInt8>?
        var length = 0
        guard SSL_client_hello_get0_ext(ssl, UInt32(TLSEXT_TYPE_supported_versions), &data, &length) == 1, let data, length >= 1
        else { return false }
        // A length byte, then two bytes per version.
        let list = UnsafeBufferPointer(start: data, count: length)
        let count = min(Int(list[0]), length - 1)
        var i = 1
        while i + 1 <= count {
            if list[i] == 0x03 && list[i + 1] == 0x04 { return true }
            i += 2
        }
        return false
    }

    /// Server: selects the configured protocol from the client's list, or fails the handshake
    /// with no_application_protocol.
    static let selectALPN:
        @convention(c) (
            OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
            UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
        ) -> Int32 = { ssl, out, outLength, offered, offeredLength, _ in
            guard let ssl, let observer = HandshakeObserver.of(ssl), let offered else { return SSL_TLSEXT_ERR_ALERT_FATAL }
            let wanted = Array(observer.context.configuration.applicationProtocol.utf8)
            let list = UnsafeBufferPointer(start: offered, count: Int(offeredLength))
            var index = 0
            while index < list.count {
                let length = Int(list[index])
                let start = index + 1
                guard start + length <= list.count else { break }
                if length == wanted.count, list[start..<start + length].elementsEqual(wanted) {
                    out?.pointee = offered + start
                    outLength?.pointee = UInt8(length)
                    return SSL_TLSEXT_ERR_OK
                }
                index = start + length
            }
            observer.failure = .alpnMismatch("client did not offer \(observer.context.configuration.applicationProtocol)")
            return SSL_TLSEXT_ERR_ALERT_FATAL
        }

    /// Keylog lines: the observer keeps the application traffic secrets when it captures kTLS material.
    static let keyLog: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> Void = { ssl, line in
        guard let ssl, let line, let observer = HandshakeObserver.of(ssl), observer.capturesKeyMaterial else { return }
        line.withMemoryRebound(to: UInt8.self, capacity: 1) { bytes in
            observer.observeKeyLog(UnsafeBufferPointer(start: bytes, count: strlen(line)))
        }
    }

    /// Client: a new session ticket arrived; the cache takes it over (return 1) when resumable.
    static let newSession: @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32 = { ssl, session in
        guard let ssl, let session, let observer = HandshakeObserver.of(ssl), let key = observer.sessionCacheKey,
            let cache = observer.context.configuration.sessionCache, SSL_SESSION_is_resumable(session) == 1
        else { return 0 }
        cache.store(session, for: key)
        return 1
    }

    /// Protocol messages and record headers, for the record sequence numbers of kTLS.
    static let message: @convention(c) (Int32, Int32, Int32, UnsafeRawPointer?, Int, OpaquePointer?, UnsafeMutableRawPointer?) -> Void = {
        writing, _, contentType, bytes, length, ssl, _ in
        guard let ssl, let observer = HandshakeObserver.of(ssl) else { return }
        let first = length > 0 ? bytes?.load(as: UInt8.self) : nil
        observer.observeMessage(sent: writing == 1, contentType: contentType, firstByte: first)
    }
}
