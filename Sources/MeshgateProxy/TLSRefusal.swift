import MeshgateTLS

/// Why a TLS handshake was refused, as counted (`tls_refused_<key>`) and logged.
enum TLSRefusal: CaseIterable {
    case notTLS, protocolVersion, noCertificate, unknownCA, certificateExpired, certificateInvalid
    case identity, identityIssuerMismatch, alpn, handshakeTimeout, peerAlert, peerClosed, other

    /// The failure's reason from the TLS engine's error code.
    init(_ error: TLSError) {
        switch error.code {
        case .protocolVersion: self = .protocolVersion
        case .peerCertificateRequired: self = .noCertificate
        case .unknownCA: self = .unknownCA
        case .certificateExpired: self = .certificateExpired
        case .certificateNotYetValid, .certificateInvalid: self = .certificateInvalid
        case .peerIdentityMismatch, .peerIdentityMissing: self = .identity
        case .peerIssuerMismatch: self = .identityIssuerMismatch
        case .alpnMismatch: self = .alpn
        case .alertReceived: self = .peerAlert
        case .truncated: self = .peerClosed
        default: self = .other
        }
    }

    /// The per-reason counter.
    var counter: ProxyCounters.Name {
        switch self {
        case .notTLS: .tlsRefusedNotTLS
        case .protocolVersion: .tlsRefusedProtocolVersion
        case .noCertificate: .tlsRefusedNoCertificate
        case .unknownCA: .tlsRefusedUnknownCA
        case .certificateExpired: .tlsRefusedCertificateExpired
        case .certificateInvalid: .tlsRefusedCertificateInvalid
        case .identity: .tlsRefusedIdentity
        case .identityIssuerMismatch: .tlsRefusedIdentityIssuerMismatch
        case .alpn: .tlsRefusedALPN
        case .handshakeTimeout: .tlsRefusedHandshakeTimeout
        case .peerAlert: .tlsRefusedPeerAlert
        case .peerClosed: .tlsRefusedPeerClosed
        case .other: .tlsRefusedOther
        }
    }

    /// The reason as logs and counters spell it.
    var key: String {
        let full = counter.key
        return String(full.dropFirst("tls_refused_".count))
    }
}
