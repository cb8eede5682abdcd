/// A failure of the TLS engine: what kind (`code`), a message for logs, and the OpenSSL error
/// queue at the time, as values.
///
/// Compare `code` against the static members of ``TLSError/Code`` (`error.code == .keyMismatch`);
/// the set of codes may grow, so do not expect to switch over it exhaustively.
public struct TLSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case fileUnreadable, invalidPEM, unsupportedKey, keyMismatch, invalidConfiguration
            case handshakeFailed, protocolVersion, alpnMismatch, peerCertificateRequired
            case certificateExpired, certificateNotYetValid, unknownCA, certificateInvalid
            case peerIdentityMismatch, peerIdentityMissing, peerIssuerMismatch, alertReceived
            case truncated, protocolError, closed, keyMaterialUnavailable, internalError
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A certificate, key or bundle file could not be opened or read.
        public static let fileUnreadable = Code(.fileUnreadable)
        /// A file was read but holds no usable PEM object of the expected kind.
        public static let invalidPEM = Code(.invalidPEM)
        /// The private key is not an ECDSA P-256 key.
        public static let unsupportedKey = Code(.unsupportedKey)
        /// The private key does not belong to the leaf certificate.
        public static let keyMismatch = Code(.keyMismatch)
        /// The configuration is inconsistent (e.g. a client without an expected peer identity).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The handshake failed for a reason without a more specific code.
        public static let handshakeFailed = Code(.handshakeFailed)
        /// The peer does not speak TLS 1.3.
        public static let protocolVersion = Code(.protocolVersion)
        /// The peers did not agree on the application protocol `meshgate/1`.
        public static let alpnMismatch = Code(.alpnMismatch)
        /// The client presented no certificate.
        public static let peerCertificateRequired = Code(.peerCertificateRequired)
        /// A certificate in the peer's chain has expired.
        public static let certificateExpired = Code(.certificateExpired)
        /// A certificate in the peer's chain is not valid yet.
        public static let certificateNotYetValid = Code(.certificateNotYetValid)
        /// The peer's chain does not lead to an anchor of the trust bundle.
        public static let unknownCA = Code(.unknownCA)
        /// The peer's chain failed verification for another reason.
        public static let certificateInvalid = Code(.certificateInvalid)
        /// The peer's identity is not the expected one (client) or not allowed (server).
        public static let peerIdentityMismatch = Code(.peerIdentityMismatch)
        /// The peer's certificate names no meshgate identity (DNS or SPIFFE URI SAN).
        public static let peerIdentityMissing = Code(.peerIdentityMissing)
        /// The peer's certificate names a gateway identity (`meshgate-<cluster>/gateway`) but was
        /// not issued by that cluster's issuer (`meshgate issuer <cluster>`).
        public static let peerIssuerMismatch = Code(.peerIssuerMismatch)
        /// The peer sent a fatal alert (it refused us); the message names the alert.
        public static let alertReceived = Code(.alertReceived)
        /// The stream ended without close_notify.
        public static let truncated = Code(.truncated)
        /// The peer violated the protocol after the handshake (bad record, bad MAC, ...).
        public static let protocolError = Code(.protocolError)
        /// The operation is not possible any more: this side sent close_notify or the connection failed.
        public static let closed = Code(.closed)
        /// kTLS key material was not captured or is no longer current.
        public static let keyMaterialUnavailable = Code(.keyMaterialUnavailable)
        /// OpenSSL failed internally (allocation, missing algorithm).
        public static let internalError = Code(.internalError)

        public var description: String { value.rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// What happened, naming the files or identities involved.
    public let message: String
    /// The OpenSSL error queue drained when the failure was detected (oldest first).
    public let openSSLErrors: [OpenSSLError]

    /// Creates an error of a kind with a message.
    public init(_ code: Code, _ message: String, openSSLErrors: [OpenSSLError] = []) {
        self.code = code
        self.message = message
        self.openSSLErrors = openSSLErrors
    }

    public var description: String {
        guard let first = openSSLErrors.first else { return "\(code): \(message)" }
        return "\(code): \(message) (\(first))"
    }
}
