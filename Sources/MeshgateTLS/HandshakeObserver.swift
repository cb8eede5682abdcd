import COpenSSL
import MeshgateNames

/// The per-connection state that OpenSSL's C callbacks read and write. An `SSL*` points at its
/// observer through ex-data (unretained: the owning ``TLSConnection`` frees the `SSL*` first).
///
/// Confined to the thread driving the connection: callbacks run inside the SSL calls it makes.
final class HandshakeObserver {
    let context: TLSContext
    let role: TLSRole
    /// Client: the identity the server must prove.
    let expectedPeerIdentity: WorkloadIdentity?
    /// Client: where new session tickets go in the context's cache.
    let sessionCacheKey: String?
    /// Capture traffic secrets and count records for kTLS.
    let capturesKeyMaterial: Bool

    /// A failure decided inside a callback (identity, ALPN); it outranks OpenSSL's own report.
    var failure: TLSError?
    /// CLIENT_TRAFFIC_SECRET_0 and SERVER_TRAFFIC_SECRET_0 from the keylog callback.
    var clientTrafficSecret: [UInt8]?
    var serverTrafficSecret: [UInt8]?
    /// Whether this side's Finished went out / the peer's Finished came in.
    var sentFinished = false
    var receivedFinished = false
    /// Records written after this side's Finished / read after the peer's Finished.
    var recordsSent: UInt64 = 0
    var recordsReceived: UInt64 = 0
    /// A KeyUpdate moved the traffic secrets past the captured ones.
    var keyUpdated = false
    /// NewSessionTicket messages read.
    var ticketsReceived = 0
    /// The peer identity the verify callback accepted (full handshakes only: a resumed session
    /// skips verification, and ``TLSConnection`` reads the session's certificate instead).
    var verifiedPeerIdentity: WorkloadIdentity?

    init(context: TLSContext, expectedPeerIdentity: WorkloadIdentity?, sessionCacheKey: String?, capturesKeyMaterial: Bool) {
        self.context = context
        self.role = context.configuration.role
        self.expectedPeerIdentity = expectedPeerIdentity
        self.sessionCacheKey = sessionCacheKey
        self.capturesKeyMaterial = capturesKeyMaterial
    }

    /// The ex-data slot of `SSL` objects that holds the observer.
    static let exDataIndex: Int32 = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, 0, nil, nil, nil, nil)

    /// Makes `ssl` point at this observer.
    func attach(to ssl: OpaquePointer) {
        SSL_set_ex_data(ssl, Self.exDataIndex, Unmanaged.passUnretained(self).toOpaque())
    }

    /// The observer of `ssl`, if one is attached.
    static func of(_ ssl: OpaquePointer) -> HandshakeObserver? {
        guard let raw = SSL_get_ex_data(ssl, exDataIndex) else { return nil }
        return Unmanaged<HandshakeObserver>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Applies the identity policy to the peer's (chain-verified) certificate: nil when it
    /// passes, otherwise the failure.
    func checkPeer(_ found: CertificateIdentity) -> TLSError? {
        let identity: WorkloadIdentity
        switch found {
        case .missing:
            return TLSError(.peerIdentityMissing, "peer certificate names no meshgate identity")
        case .conflicting(let names):
            return TLSError(.peerIdentityMissing, "peer certificate names several identities: \(names)")
        case .identity(let named):
            identity = named
        }
        switch role {
        case .client:
            guard let expected = expectedPeerIdentity else { return nil }
            return identity == expected ? nil : .peerIdentityMismatch(expected: expected.description, got: identity)
        case .server:
            guard let allowed = context.configuration.allowedPeerIdentities, !allowed.contains(identity) else { return nil }
            return .peerIdentityMismatch(expected: "one of the \(allowed.count) allowed client identities", got: identity)
        }
    }

    /// One `SSL_set_msg_callback` event: counts record headers after each side's Finished.
    func observeMessage(sent: Bool, contentType: Int32, firstByte: UInt8?) {
        switch contentType {
        case SSL3_RT_HEADER:
            if sent, sentFinished { recordsSent += 1 }
            if !sent, receivedFinished { recordsReceived += 1 }
        case SSL3_RT_HANDSHAKE:
            if firstByte == UInt8(SSL3_MT_FINISHED) {
                if sent { sentFinished = true } else { receivedFinished = true }
            } else if firstByte == UInt8(SSL3_MT_KEY_UPDATE), sentFinished || receivedFinished {
                keyUpdated = true
            } else if firstByte == UInt8(SSL3_MT_NEWSESSION_TICKET), !sent {
                ticketsReceived += 1
            }
        default:
            break
        }
    }

    /// One keylog line, `LABEL <client random hex> <secret hex>`; keeps the application traffic
    /// secrets. OpenSSL writes five lines per handshake; the three other labels are skipped by
    /// comparing bytes, without making a string.
    func observeKeyLog(_ line: UnsafeBufferPointer<UInt8>) {
        let client = line.starts(with: Self.clientTrafficLabel)
        guard client || line.starts(with: Self.serverTrafficLabel) else { return }
        let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard fields.count == 3, let secret = [UInt8](hex: fields[2]) else { return }
        if client { clientTrafficSecret = secret } else { serverTrafficSecret = secret }
    }

    /// One keylog line as text (tests).
    func observeKeyLog(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.withUnsafeBufferPointer { observeKeyLog($0) }
    }

    private static let clientTrafficLabel = Array("CLIENT_TRAFFIC_SECRET_0 ".utf8)
    private static let serverTrafficLabel = Array("SERVER_TRAFFIC_SECRET_0 ".utf8)
}

extension Array where Element == UInt8 {
    /// Decodes an even-length hexadecimal string; nil on any other character.
    init?<S: StringProtocol>(hex: S) {
        self.init(hex: hex.utf8)
    }

    /// Decodes even-length hexadecimal ASCII bytes; nil on any other byte.
    init?<C: Collection<UInt8>>(hex: C) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.count / 2)
        var high: UInt8?
        for c in hex {
            let nibble: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high { bytes.append(h << 4 | nibble); high = nil } else { high = nibble }
        }
        guard high == nil else { return nil }
        self = bytes
    }
}
