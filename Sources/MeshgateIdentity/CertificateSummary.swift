import Crypto
import Foundation
import MeshgateNames
import X509

/// What `meshgate identity inspect` reports about one certificate.
public struct CertificateSummary: Codable, Equatable, Sendable {
    /// Whether the certificate is valid at the time of the summary.
    public enum Status: String, Codable, Sendable {
        case valid
        case expired
        case notYetValid = "not-yet-valid"
    }

    /// One subject alternative name.
    public struct Name: Codable, Equatable, Sendable {
        /// `DNS`, `URI`, `IP`, `email` or `other`.
        public let type: String
        /// The name as written.
        public let value: String
        /// The meshgate identity it names (SPIFFE form), when it parses as one.
        public let identity: String?
    }

    /// The subject, RFC 4514 style (`CN=…,O=…`).
    public let subject: String
    /// The issuer, RFC 4514 style.
    public let issuer: String
    /// The serial number, hex.
    public let serialNumber: String
    /// True when basicConstraints says CA.
    public let isCA: Bool
    /// The CA's pathLenConstraint, when it has one.
    public let pathLength: Int?
    /// True when the certificate signed itself (a root).
    public let isSelfSigned: Bool
    /// `ECDSA P-256`, `ECDSA P-384`, `RSA 2048`, `Ed25519`, …
    public let keyType: String
    /// Start of validity.
    public let notBefore: Date
    /// End of validity.
    public let notAfter: Date
    /// Valid, expired or not yet valid at `now`.
    public let status: Status
    /// Seconds from `now` to notAfter (negative once expired).
    public let secondsLeft: Int64
    /// The subject alternative names.
    public let names: [Name]
    /// The meshgate identity, when the names give exactly one (both forms agreeing).
    public let identity: String?

    /// Summarizes `certificate` as seen at `now`.
    public init(_ certificate: Certificate, now: Date = Date()) {
        subject = certificate.subject.description
        issuer = certificate.issuer.description
        serialNumber = certificate.serialNumber.bytes.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined(separator: ":")
        let constraints = try? certificate.extensions.basicConstraints
        if case .isCertificateAuthority(let maxPathLength) = constraints {
            isCA = true
            pathLength = maxPathLength
        } else {
            isCA = false
            pathLength = nil
        }
        isSelfSigned = CertificateSigning.isSigned(certificate, by: certificate)
        keyType = Self.keyType(certificate.publicKey)
        notBefore = certificate.notValidBefore
        notAfter = certificate.notValidAfter
        secondsLeft = Int64((certificate.notValidAfter.timeIntervalSince(now)).rounded(.down))
        if now < certificate.notValidBefore {
            status = .notYetValid
        } else if now >= certificate.notValidAfter {
            status = .expired
        } else {
            status = .valid
        }
        let names = ((try? certificate.extensions.subjectAlternativeNames) ?? nil).map { Array($0) } ?? []
        self.names = names.map(Self.name)
        let identities = Set(self.names.compactMap(\.identity))
        identity = identities.count == 1 ? identities.first : nil
    }

    /// Summaries of every certificate in the PEM file at `path`, in order.
    ///
    /// - Throws: ``IdentityError`` naming the file when it cannot be read, is not PEM or holds no certificate.
    public static func load(path: String, now: Date = Date()) throws(IdentityError) -> [CertificateSummary] {
        try PEMCodec.certificates(in: FileReading.text(at: path), path: path).map { CertificateSummary($0, now: now) }
    }

    private static func name(_ general: GeneralName) -> Name {
        switch general {
        case .dnsName(let text):
            return Name(type: "DNS", value: text, identity: WorkloadIdentity(dnsName: text)?.spiffeURI)
        case .uniformResourceIdentifier(let text):
            return Name(type: "URI", value: text, identity: WorkloadIdentity(spiffeURI: text)?.spiffeURI)
        case .rfc822Name(let text):
            return Name(type: "email", value: text, identity: nil)
        case .ipAddress(let octets):
            return Name(type: "IP", value: ipText(Array(octets.bytes)), identity: nil)
        default:
            return Name(type: "other", value: String(describing: general), identity: nil)
        }
    }

    private static func ipText(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        guard bytes.count == 16 else { return bytes.map { String($0, radix: 16) }.joined(separator: ":") }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }

    private static func keyType(_ key: Certificate.PublicKey) -> String {
        if P256.Signing.PublicKey(key) != nil { return "ECDSA P-256" }
        if P384.Signing.PublicKey(key) != nil { return "ECDSA P-384" }
        if P521.Signing.PublicKey(key) != nil { return "ECDSA P-521" }
        if Curve25519.Signing.PublicKey(key) != nil { return "Ed25519" }
        // RSA keys describe themselves as `RSA2048.PublicKey`.
        let text = key.description
        if text.hasPrefix("RSA"), let end = text.firstIndex(of: ".") {
            return "RSA " + text[text.index(text.startIndex, offsetBy: 3)..<end]
        }
        return text
    }
}
