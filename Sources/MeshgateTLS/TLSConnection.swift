import COpenSSL
import MeshgateNames

/// One TLS connection as a pure state machine over two memory BIOs: no sockets, no clocks.
///
/// The caller moves bytes: ciphertext from the socket goes in with ``receive(_:)``
/// (and ``receiveEOF()`` on FIN); ciphertext for the socket comes out of ``takeOutbound()``
/// after *every* call, since reads can produce output too (alerts, KeyUpdate replies).
/// ``handshake()`` is driven until it completes; then plaintext flows through
/// ``readPlaintext(into:)`` and ``writePlaintext(_:)``. The handshake
/// timeout is the caller's: check ``isHandshakeComplete``.
///
/// Confined to one thread (the loop owning the connection).
public final class TLSConnection {
    enum State {
        case handshaking
        case established
        case failed(TLSError)
    }

    /// The context this connection was made from.
    public let context: TLSContext
    // The SSL* and its BIOs; SSL_free frees the BIOs too.
    let ssl: OpaquePointer
    let readBIO: OpaquePointer
    let writeBIO: OpaquePointer
    let observer: HandshakeObserver
    var state: State = .handshaking
    /// Follows inbound record boundaries (connections made for kTLS only).
    var inboundRecords: RecordBoundaryTracker?
    /// Server: the number of tickets for a resumed handshake is settled.
    var ticketsDecided = false

    /// The peer's verified identity, once the handshake is complete.
    public internal(set) var peerIdentity: WorkloadIdentity?
    /// The peer's close_notify has been read.
    public internal(set) var receivedCloseNotify = false
    /// Application bytes ``readPlaintext(into:)`` has returned.
    public internal(set) var plaintextBytesRead = 0
    /// This side's close_notify is in the outbound bytes.
    public internal(set) var sentCloseNotify = false

    /// Creates a connection.
    /// - Parameters:
    ///   - expectedPeerIdentity: client: the identity the server must prove (required).
    ///   - sessionCacheKey: client: the key of the context's session cache; defaults to the
    ///     expected identity's SPIFFE URI.
    ///   - forKTLS: capture traffic secrets and count records so that ``ktlsKeys()`` works; a
    ///     server sends ``TLSConfiguration/ticketsForKTLS`` tickets instead of ``TLSConfiguration/ticketCount``.
    public init(
        context: TLSContext, expectedPeerIdentity: WorkloadIdentity? = nil, sessionCacheKey: String? = nil, forKTLS: Bool = false
    ) throws(TLSError) {
        let role = context.configuration.role
        if role == .client && expectedPeerIdentity == nil {
            throw TLSError(.invalidConfiguration, "a client connection needs the expected server identity")
        }
        ERR_clear_error()
        guard let ssl = SSL_new(context.raw) else {
            throw TLSError(.internalError, "SSL_new failed", openSSLErrors: OpenSSLError.drainQueue())
        }
        let readBIO = BIO_new(BIO_s_mem())
        let writeBIO = BIO_new(BIO_s_mem())
        guard let readBIO, let writeBIO else {
            BIO_free(readBIO)
            BIO_free(writeBIO)
            SSL_free(ssl)
            throw TLSError(.internalError, "cannot allocate memory BIOs", openSSLErrors: OpenSSLError.drainQueue())
        }
        SSL_set_bio(ssl, readBIO, writeBIO)
        _ = mg_BIO_set_mem_eof_return(readBIO, -1)  // empty means "more may come" until receiveEOF()
        self.context = context
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        let cacheKey = role == .client ? (sessionCacheKey ?? expectedPeerIdentity?.spiffeURI) : nil
        self.observer = HandshakeObserver(
            context: context, expectedPeerIdentity: expectedPeerIdentity, sessionCacheKey: cacheKey, capturesKeyMaterial: forKTLS)
        observer.attach(to: ssl)
        if forKTLS {
            inboundRecords = RecordBoundaryTracker()
            SSL_set_msg_callback(ssl, OpenSSLCallbacks.message)
        }
        switch role {
        case .server:
            let tickets = forKTLS ? context.configuration.ticketsForKTLS : context.configuration.ticketCount
            SSL_set_num_tickets(ssl, max(0, tickets))
            SSL_set_accept_state(ssl)
        case .client:
            if let expected = expectedPeerIdentity { _ = mg_SSL_set_tlsext_host_name(ssl, expected.dnsName) }
            if let key = cacheKey, let cache = context.configuration.sessionCache, let session = cache.take(for: key) {
                SSL_set_session(ssl, session)  // takes its own reference
                SSL_SESSION_free(session)
            }
            SSL_set_connect_state(ssl)
        }
    }

    deinit { SSL_free(ssl) }

    /// Server or client.
    public var role: TLSRole { observer.role }

    /// True once ``handshake()`` has returned ``TLSHandshakeResult/complete``.
    public var isHandshakeComplete: Bool {
        if case .established = state { return true }
        return false
    }

    /// The failure that ended the connection, if any.
    public var failure: TLSError? {
        if case .failed(let error) = state { return error }
        return nil
    }

    /// The agreed ALPN protocol, once negotiated.
    public var negotiatedApplicationProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// True when the handshake resumed a session from a ticket instead of a full handshake.
    public var isSessionReused: Bool { SSL_session_reused(ssl) == 1 }

    /// The negotiated cipher suite's standard name, e.g. `TLS_AES_128_GCM_SHA256`.
    public var cipherSuite: String? {
        guard let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_standard_name(cipher) else { return nil }
        return String(cString: name)
    }
}

@available(*, unavailable)
extension TLSConnection: Sendable {}
