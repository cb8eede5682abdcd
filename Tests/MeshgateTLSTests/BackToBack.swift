import COpenSSL
import MeshgateNames

@testable import MeshgateTLS

/// Something that speaks TLS over ciphertext byte arrays: a ``TLSConnection`` or a ``RawPeer``.
protocol CiphertextEndpoint: AnyObject {
    /// Drives the handshake one step (no-op once finished).
    func step()
    func takeOutbound() -> [UInt8]
    func receive(_ bytes: [UInt8])
}

extension TLSConnection: CiphertextEndpoint {
    func step() { _ = handshake() }
}

/// Two endpoints wired back to back in memory.
enum BackToBack {
    /// Alternates handshake steps and ciphertext transfers until no bytes move.
    static func pump(_ a: CiphertextEndpoint, _ b: CiphertextEndpoint, rounds: Int = 20) {
        for _ in 0..<rounds {
            a.step()
            let ab = a.takeOutbound()
            b.receive(ab)
            b.step()
            let ba = b.takeOutbound()
            a.receive(ba)
            if ab.isEmpty && ba.isEmpty { return }
        }
    }

    /// Moves whatever `from` has to send into `to`.
    static func transfer(_ from: CiphertextEndpoint, to: CiphertextEndpoint) {
        to.receive(from.takeOutbound())
    }

    /// Reads all plaintext `connection` can produce now; also returns the result that stopped reading.
    static func readAll(_ connection: TLSConnection) -> (bytes: [UInt8], end: TLSReadResult) {
        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let result = buffer.withUnsafeMutableBytes { connection.readPlaintext(into: $0) }
            guard case .bytes(let count) = result else { return (collected, result) }
            collected += buffer[0..<count]
        }
    }

    /// A client and a server connection from the given contexts, handshake pumped.
    static func connect(
        client: TLSContext, server: TLSContext, expecting identity: WorkloadIdentity = TestPKI.serverIdentity,
        sessionCacheKey: String? = nil, forKTLS: Bool = false
    ) throws -> (client: TLSConnection, server: TLSConnection) {
        let c = try TLSConnection(context: client, expectedPeerIdentity: identity, sessionCacheKey: sessionCacheKey, forKTLS: forKTLS)
        let s = try TLSConnection(context: server, forKTLS: forKTLS)
        pump(c, s)
        return (c, s)
    }

    /// A kTLS-ready client of `pki` against a raw server that offers only TLS_AES_256_GCM_SHA384,
    /// handshake pumped; the server's tickets are still unread.
    static func connectAES256(_ pki: TestPKI) throws -> (client: TLSConnection, server: RawPeer) {
        let raw = RawPeer(
            server: true, selectsALPN: true, cipherSuites: "TLS_AES_256_GCM_SHA384",
            chain: pki.path("server.pem"), key: pki.path("server.key"))
        let client = try TLSConnection(context: pki.clientContext(), expectedPeerIdentity: TestPKI.serverIdentity, forKTLS: true)
        pump(client, raw)
        return (client, raw)
    }
}

/// A bare OpenSSL endpoint over memory BIOs, configured the ways meshgate's own contexts
/// refuse to be (TLS 1.2, no ALPN, other cipher suites), to test refusals.
final class RawPeer: CiphertextEndpoint {
    let ctx: OpaquePointer
    let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer
    private(set) var handshakeDone = false
    private(set) var failed = false

    /// Server side: selects the first ALPN protocol the client offers when `selectsALPN`.
    static let selectFirstALPN:
        @convention(c) (
            OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
            UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
        ) -> Int32 = { _, out, outLength, offered, offeredLength, _ in
            guard let offered, offeredLength > 1 else { return SSL_TLSEXT_ERR_NOACK }
            out?.pointee = offered + 1
            outLength?.pointee = offered[0]
            return SSL_TLSEXT_ERR_OK
        }

    init(
        server: Bool, maxVersion: Int32 = TLS1_3_VERSION, alpn: String? = nil, selectsALPN: Bool = false,
        cipherSuites: String? = nil, chain: String? = nil, key: String? = nil
    ) {
        ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method())!
        _ = mg_SSL_CTX_set_max_proto_version(ctx, maxVersion)
        if let cipherSuites { precondition(SSL_CTX_set_ciphersuites(ctx, cipherSuites) == 1) }
        if let alpn {
            let wire = [UInt8(alpn.utf8.count)] + Array(alpn.utf8)
            precondition(SSL_CTX_set_alpn_protos(ctx, wire, UInt32(wire.count)) == 0)
        }
        if selectsALPN { SSL_CTX_set_alpn_select_cb(ctx, Self.selectFirstALPN, nil) }
        if let chain, let key {
            precondition(SSL_CTX_use_certificate_chain_file(ctx, chain) == 1)
            precondition(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1)
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        ssl = SSL_new(ctx)!
        readBIO = BIO_new(BIO_s_mem())!
        writeBIO = BIO_new(BIO_s_mem())!
        SSL_set_bio(ssl, readBIO, writeBIO)
        if server { SSL_set_accept_state(ssl) } else { SSL_set_connect_state(ssl) }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(ctx)
    }

    func step() {
        guard !handshakeDone, !failed else { return }
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            handshakeDone = true
        } else if SSL_get_error(ssl, rc) != SSL_ERROR_WANT_READ {
            failed = true
        }
        ERR_clear_error()
    }

    func takeOutbound() -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = BIO_read(writeBIO, &buffer, Int32(buffer.count))
            guard n > 0 else { return bytes }
            bytes += buffer[0..<Int(n)]
        }
    }

    func receive(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        precondition(BIO_write(readBIO, bytes, Int32(bytes.count)) == Int32(bytes.count))
    }

    func write(_ bytes: [UInt8]) {
        var written = 0
        precondition(SSL_write_ex(ssl, bytes, bytes.count, &written) == 1)
    }
}
