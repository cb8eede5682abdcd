import MeshgateNames
/// The named constructors used throughout the engine; each message names what it is about.
extension TLSError {
    /// `path` could not be opened or read.
    public static func fileUnreadable(_ path: String, _ detail: String = "") -> TLSError {
        TLSError(.fileUnreadable, "cannot read \(path)" + (detail.isEmpty ? "" : ": \(detail)"), openSSLErrors: OpenSSLError.drainQueue())
    }

    /// `path` holds no usable PEM `what` (e.g. "certificate", "private key").
    public static func invalidPEM(_ path: String, expected what: String) -> TLSError {
        TLSError(.invalidPEM, "\(path) holds no valid PEM \(what)", openSSLErrors: OpenSSLError.drainQueue())
    }

    /// The key in `key` does not match the leaf certificate in `cert`.
    public static func keyMismatch(cert: String, key: String) -> TLSError {
        TLSError(.keyMismatch, "private key \(key) does not match certificate \(cert)", openSSLErrors: OpenSSLError.drainQueue())
    }

    /// The handshake failed; `reason` says why.
    public static func handshakeFailed(_ reason: String, openSSLErrors: [OpenSSLError] = []) -> TLSError {
        TLSError(.handshakeFailed, reason, openSSLErrors: openSSLErrors)
    }

    /// The peer's identity `got` is not `expected` (a description of the expectation or allow-list).
    public static func peerIdentityMismatch(expected: String, got: WorkloadIdentity) -> TLSError {
        TLSError(.peerIdentityMismatch, "peer identity \(got) is not \(expected)")
    }

    /// The peers did not agree on `meshgate/1`.
    public static func alpnMismatch(_ detail: String) -> TLSError {
        TLSError(.alpnMismatch, detail)
    }

    /// A certificate of the peer's chain has expired.
    public static func certificateExpired(_ detail: String) -> TLSError {
        TLSError(.certificateExpired, detail)
    }

    /// The peer's chain does not lead to a trusted anchor.
    public static func unknownCA(_ detail: String) -> TLSError {
        TLSError(.unknownCA, detail)
    }
}
