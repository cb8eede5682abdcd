import MeshgateNames
/// Which end of the handshake a context serves.
public enum TLSRole: Hashable, Sendable {
    /// Accepts connections; requires and verifies a client certificate; issues session tickets.
    case server
    /// Opens connections; checks the server's identity; may resume sessions from a cache.
    case client
}

/// Everything a ``TLSContext`` is built from. The protocol choices are fixed by meshgate's wire
/// protocol (TLS 1.3 only, X25519 then P-256, AES-GCM suites, ALPN `meshgate/1`, mutual
/// authentication); what varies is files and policy.
public struct TLSConfiguration: Sendable {
    /// The ALPN protocol of meshgate's gateway-to-gateway transport.
    public static let meshgateALPN = "meshgate/1"

    /// Server or client.
    public var role: TLSRole
    /// PEM file: the leaf certificate, then any intermediates.
    public var certificateChainPath: String
    /// PEM file: the leaf's ECDSA P-256 private key (unencrypted).
    public var privateKeyPath: String
    /// PEM file: the trust anchors (one or several, for rotation).
    public var trustBundlePath: String
    /// The ALPN protocol offered (client) or required (server). Meshgate always uses the default.
    public var applicationProtocol: String = TLSConfiguration.meshgateALPN
    /// Server: client identities allowed to connect; nil accepts any identity the trust bundle
    /// vouches for. Ignored by clients, which name their expected peer per connection.
    public var allowedPeerIdentities: Set<WorkloadIdentity>? = nil
    /// Server: NewSessionTicket messages sent after each handshake of a connection that stays
    /// in user space.
    public var ticketCount: Int = 2
    /// Server: tickets sent on a connection that will switch to kTLS (``TLSConnection/Options/forKTLS``).
    /// Keep 0: tickets written after the handshake reach the peer's kTLS RX as non-data records
    /// and advance the TX record sequence (see ``KTLSKeys``).
    public var ticketsForKTLS: Int = 0
    /// Client: where session tickets are kept per peer for resumption; nil disables resumption.
    public var sessionCache: TLSSessionCache? = nil
    /// Server: the keys session tickets are encrypted with. The default is the process's
    /// generated keys (rotated every 12 h); a key file shared by a gateway's replicas
    /// (``TLSTicketKeys/init(contentsOfFile:)``) lets a ticket one replica issued resume on another.
    public var ticketKeys: TLSTicketKeys = .processWide
    /// Require a peer presenting a gateway identity (`meshgate-<cluster>/gateway`) to be signed
    /// by its cluster's issuer (`CN=meshgate issuer <cluster>`), on both sides; refused with
    /// ``TLSError/Code/peerIssuerMismatch`` otherwise. Gateways turn this on.
    public var bindsGatewayIssuers: Bool = false
    /// Check certificate validity at this time (seconds since 1970) instead of now. For tests
    /// and diagnostics with certificates of fixed validity.
    public var verificationTime: Int64? = nil

    /// A configuration with the given files; the policy fields keep their defaults.
    public init(role: TLSRole, certificateChainPath: String, privateKeyPath: String, trustBundlePath: String) {
        self.role = role
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.trustBundlePath = trustBundlePath
    }
}
