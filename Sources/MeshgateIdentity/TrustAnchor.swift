import Crypto
import Foundation
import MeshgateNames
import X509

/// The self-signed root of a meshgate trust domain: every cluster issuer is signed by it, and
/// every gateway trusts it (docs/identity.md).
///
/// Subject `O=<trust-domain>, CN=meshgate trust anchor <trust-domain>`; basicConstraints CA
/// (critical, no path length limit), keyUsage keyCertSign + cRLSign (critical), a subject key
/// identifier.
public struct TrustAnchor: Sendable {
    /// Ten years (`87600h`).
    public static let defaultValidity: Duration = .seconds(87_600 * 3_600)

    /// The self-signed certificate.
    public let certificate: Certificate
    /// Its private key.
    public let privateKey: P256.Signing.PrivateKey
    /// The trust domain, from the subject organization.
    public let trustDomain: String

    /// Makes a new key and self-signed certificate for `trustDomain`, valid from 5 minutes
    /// before `now` for `validity`.
    ///
    /// - Throws: ``IdentityError/Code/invalidArgument`` for a trust domain that is not a DNS name
    ///   or a validity out of range.
    public static func create(
        trustDomain: String, validity: Duration = defaultValidity, now: Date = Date()
    ) throws(IdentityError) -> TrustAnchor {
        guard DNSName.isName(trustDomain) else {
            throw IdentityError(.invalidArgument, "trust domain '\(trustDomain)': not a DNS name (lowercase letters, digits, '-', dots)")
        }
        let window = try ValidityWindow(now: now, validity: validity)
        let subject = try IdentityError.wrapping(.invalidArgument, "trust domain '\(trustDomain)'") {
            try IdentityNames.anchorSubject(trustDomain: trustDomain)
        }
        let (certificate, key) = try CertificateSigning.issue(subject: subject, window: window, signer: nil, profile: "anchor") {
            try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            }
        }
        return TrustAnchor(certificate: certificate, privateKey: key, trustDomain: trustDomain)
    }

    private init(certificate: Certificate, privateKey: P256.Signing.PrivateKey, trustDomain: String) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.trustDomain = trustDomain
    }

    /// An anchor from its certificate and key, checked: a self-signed CA naming a trust domain,
    /// and the key belongs to it. `certificatePath`/`keyPath` only name the files in errors.
    public init(
        certificate: Certificate, privateKey: P256.Signing.PrivateKey, certificatePath: String = "anchor certificate",
        keyPath: String = "anchor key"
    ) throws(IdentityError) {
        guard CertificateSigning.isCA(certificate), CertificateSigning.isSigned(certificate, by: certificate) else {
            throw IdentityError(.invalidFile, path: certificatePath, "\(certificatePath): not a self-signed CA certificate (\(certificate.subject))")
        }
        guard let trustDomain = IdentityNames.trustDomain(of: certificate), DNSName.isName(trustDomain) else {
            throw IdentityError(
                .invalidFile, path: certificatePath, "\(certificatePath): the subject names no trust domain (O=<trust-domain>), not a meshgate anchor")
        }
        guard CertificateSigning.key(privateKey, matches: certificate) else {
            throw IdentityError(.keyMismatch, path: keyPath, "\(keyPath) does not belong to the certificate in \(certificatePath)")
        }
        self.init(certificate: certificate, privateKey: privateKey, trustDomain: trustDomain)
    }

    /// The certificate as PEM.
    public var pemCertificate: String { (try? PEMCodec.encode([certificate])) ?? "" }
    /// The private key as PEM (PKCS#8).
    public var pemPrivateKey: String { PEMCodec.encode(privateKey) }
}
