import COpenSSL

/// Turns a failed SSL call — its `SSL_get_error` value, the drained error queue, the verify
/// result and any failure a callback recorded — into a typed ``TLSError``.
enum FailureClassifier {
    /// Why a handshake failed.
    static func handshake(ssl: OpaquePointer, result: SSLResult, observer: HandshakeObserver, errors: [OpenSSLError]) -> TLSError {
        if let failure = observer.failure {
            return TLSError(failure.code, failure.message, openSSLErrors: errors)
        }
        let verify = Int32(truncatingIfNeeded: SSL_get_verify_result(ssl))
        if verify != X509_V_OK {
            return verification(verify, errors: errors)
        }
        for error in errors where error.library == ERR_LIB_SSL {
            switch error.reason {
            case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
                return TLSError(.peerCertificateRequired, "client presented no certificate", openSSLErrors: errors)
            case SSL_R_NO_APPLICATION_PROTOCOL:
                return TLSError(.alpnMismatch, "no common application protocol", openSSLErrors: errors)
            case SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_NO_PROTOCOLS_AVAILABLE, SSL_R_WRONG_VERSION_NUMBER,
                SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, SSL_R_UNSUPPORTED_SSL_VERSION:
                return TLSError(.protocolVersion, "peer does not speak TLS 1.3 (\(error.reasonText))", openSSLErrors: errors)
            default:
                break
            }
        }
        return afterHandshake(result: result, errors: errors, during: "handshake")
    }

    /// Why a read, write or shutdown failed after the handshake.
    static func afterHandshake(result: SSLResult, errors: [OpenSSLError], during phase: String = "connection") -> TLSError {
        if let alert = errors.first(where: \.isAlertReceived) {
            return TLSError(.alertReceived, "peer sent alert during \(phase): \(alert.reasonText)", openSSLErrors: errors)
        }
        if isTruncation(result: result, errors: errors) {
            return TLSError(.truncated, "stream ended without close_notify during \(phase)", openSSLErrors: errors)
        }
        let reason = errors.first?.reasonText ?? "SSL error \(result)"
        if phase == "handshake" { return .handshakeFailed(reason, openSSLErrors: errors) }
        return TLSError(.protocolError, reason, openSSLErrors: errors)
    }

    /// End of stream without close_notify: OpenSSL 3 reports SSL_R_UNEXPECTED_EOF_WHILE_READING,
    /// older behaviour is SSL_ERROR_SYSCALL with an empty queue.
    static func isTruncation(result: SSLResult, errors: [OpenSSLError]) -> Bool {
        if result == .syscall && errors.isEmpty { return true }
        return errors.contains { $0.library == ERR_LIB_SSL && $0.reason == SSL_R_UNEXPECTED_EOF_WHILE_READING }
    }

    /// A failed chain verification (`X509_V_ERR_*`).
    static func verification(_ code: Int32, errors: [OpenSSLError]) -> TLSError {
        let text = X509_verify_cert_error_string(Int(code)).map { String(cString: $0) } ?? "verify error \(code)"
        let message = "peer certificate: \(text)"
        switch code {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            return TLSError(.certificateExpired, message, openSSLErrors: errors)
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return TLSError(.certificateNotYetValid, message, openSSLErrors: errors)
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
            X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
            X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, X509_V_ERR_CERT_UNTRUSTED:
            return TLSError(.unknownCA, message, openSSLErrors: errors)
        default:
            return TLSError(.certificateInvalid, message, openSSLErrors: errors)
        }
    }
}
