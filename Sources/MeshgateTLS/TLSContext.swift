import COpenSSL

/// A configured `SSL_CTX`: protocol choices, credentials, trust and callbacks shared by every
/// connection of one role. Build a new context to reload files; live connections keep theirs.
public final class TLSContext: @unchecked Sendable {
    // Invariant: `raw` is fully configured in init and never mutated afterwards; OpenSSL allows
    // SSL_new on a configured SSL_CTX from several threads at once.
    let raw: OpaquePointer

    /// What the context was built from.
    public let configuration: TLSConfiguration

    /// Server or client.
    public var role: TLSRole { configuration.role }

    /// Server: the keys the ticket callback encrypts and decrypts tickets with.
    let ticketKeys: TLSTicketKeys

    /// Server: the session id context, a digest of identity, trust and policy (``SessionIDContext``);
    /// empty for clients.
    public private(set) var sessionIDContext: [UInt8] = []

    /// The cipher suites offered and accepted: the AES-GCM ones, which kTLS can take over.
    static let cipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"
    /// Key-exchange groups in order of preference.
    static let groups = "X25519:P-256"

    /// Builds the context; fails with an error naming the file for unreadable or mismatched credentials.
    public init(configuration: TLSConfiguration) throws(TLSError) {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(configuration.role == .server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSError(.internalError, "SSL_CTX_new failed", openSSLErrors: OpenSSLError.drainQueue())
        }
        self.raw = ctx
        self.configuration = configuration
        self.ticketKeys = configuration.ticketKeys
        try configureProtocol()
        try TLSCredentials.load(into: ctx, configuration)
        configureVerification()
        try configureALPN()
        try configureSessions()
    }

    deinit { SSL_CTX_free(raw) }

    private func configureProtocol() throws(TLSError) {
        ERR_clear_error()
        guard mg_SSL_CTX_set_min_proto_version(raw, TLS1_3_VERSION) == 1,
            mg_SSL_CTX_set_max_proto_version(raw, TLS1_3_VERSION) == 1,
            SSL_CTX_set_ciphersuites(raw, Self.cipherSuites) == 1,
            mg_SSL_CTX_set1_groups_list(raw, Self.groups) == 1
        else {
            throw TLSError(.internalError, "cannot configure TLS 1.3", openSSLErrors: OpenSSLError.drainQueue())
        }
        _ = mg_SSL_CTX_set_mode(raw, Int(SSL_MODE_RELEASE_BUFFERS))
        mg_SSL_CTX_set_read_ahead(raw, 0)
        SSL_CTX_set_keylog_callback(raw, OpenSSLCallbacks.keyLog)
    }

    private func configureVerification() {
        var mode = SSL_VERIFY_PEER
        if configuration.role == .server { mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT }
        SSL_CTX_set_verify(raw, mode, OpenSSLCallbacks.verify)
        VerifiedIssuers.prepare(context: raw)
        if let time = configuration.verificationTime {
            X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(raw), time_t(time))
        }
    }

    private func configureALPN() throws(TLSError) {
        let name = Array(configuration.applicationProtocol.utf8)
        guard !name.isEmpty, name.count < 256 else {
            throw TLSError(.invalidConfiguration, "ALPN protocol must be 1 to 255 bytes")
        }
        switch configuration.role {
        case .server:
            SSL_CTX_set_client_hello_cb(raw, OpenSSLCallbacks.clientHello, nil)
            SSL_CTX_set_alpn_select_cb(raw, OpenSSLCallbacks.selectALPN, nil)
        case .client:
            ERR_clear_error()
            let wire = [UInt8(name.count)] + name
            guard SSL_CTX_set_alpn_protos(raw, wire, UInt32(wire.count)) == 0 else {  // 0 is success here
                throw TLSError(.internalError, "cannot set ALPN", openSSLErrors: OpenSSLError.drainQueue())
            }
        }
    }

    /// Server: stateless tickets under ``TLSConfiguration/ticketKeys``, resumable only by a
    /// server of the same identity, trust and policy. Client: the session cache, if any. Neither
    /// side allows `psk_ke` (SSL_OP_ALLOW_NO_DHE_KEX stays off), so every resumption makes a fresh
    /// (EC)DHE exchange and keeps forward secrecy.
    private func configureSessions() throws(TLSError) {
        switch configuration.role {
        case .server:
            // Stateless tickets only: OpenSSL would otherwise add every ticketed session to an
            // internal cache (20k entries by default) that resumption never reads.
            _ = mg_SSL_CTX_set_session_cache_mode(raw, Int(SSL_SESS_CACHE_OFF))
            sessionIDContext = try SessionIDContext.digest(of: raw, configuration)
            ERR_clear_error()
            guard SSL_CTX_set_session_id_context(raw, sessionIDContext, UInt32(sessionIDContext.count)) == 1 else {
                throw TLSError(.internalError, "cannot set the session id context", openSSLErrors: OpenSSLError.drainQueue())
            }
            TicketKeyCallback.install(on: raw)
            SSL_CTX_set_num_tickets(raw, max(0, configuration.ticketCount))
        case .client:
            guard configuration.sessionCache != nil else {
                _ = mg_SSL_CTX_set_session_cache_mode(raw, Int(SSL_SESS_CACHE_OFF))
                return
            }
            _ = mg_SSL_CTX_set_session_cache_mode(raw, Int(SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE))
            SSL_CTX_sess_set_new_cb(raw, OpenSSLCallbacks.newSession)
        }
    }
}
