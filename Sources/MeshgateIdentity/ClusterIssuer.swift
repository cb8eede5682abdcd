import Crypto
import Foundation
import MeshgateNames
import X509

/// One cluster's intermediate CA: it signs that cluster's leaf certificates and is signed by the
/// trust anchor (docs/identity.md).
///
/// Subject `O=<trust-domain>, CN=meshgate issuer <cluster>`; basicConstraints CA with
/// pathLenConstraint 0 (critical), keyUsage keyCertSign + cRLSign (critical), subject and
/// authority key identifiers.
public struct ClusterIssuer: Sendable {
    /// One year (`8760h`).
    public static let defaultValidity: Duration = .seconds(8_760 * 3_600)

    /// The issuer's certificate.
    public let certificate: Certificate
    /// Its private key.
    public let privateKey: P256.Signing.PrivateKey
    /// The trust domain (subject organization, the same as its anchor's).
    public let trustDomain: String
    /// The cluster (a DNS label), from the common name.
    public let cluster: String
    /// The anchors leaves of this issuer are to trust; one of them signed ``certificate``.
    /// Several during an anchor rotation.
    public let trustBundle: [Certificate]
    /// When the issuer was created with a validity reaching past the anchor's notAfter: the end
    /// asked for (the certificate ends with the anchor instead). Nil otherwise and when loaded.
    public let clampedFrom: Date?

    /// Makes a new key and a certificate for `cluster` signed by `anchor`, valid from 5 minutes
    /// before `now` for `validity` but never beyond the anchor's notAfter. The trust bundle is
    /// the anchor.
    ///
    /// - Throws: ``IdentityError/Code/invalidArgument`` for a cluster that is not a DNS label or a
    ///   validity out of range; ``IdentityError/Code/expired`` when the anchor is not valid at `now`.
    public static func create(
        anchor: TrustAnchor, cluster: String, validity: Duration = defaultValidity, now: Date = Date()
    ) throws(IdentityError) -> ClusterIssuer {
        guard DNSName.isLabel(cluster) else {
            throw IdentityError(.invalidArgument, "cluster '\(cluster)': not a DNS label (1-63 lowercase letters, digits, '-')")
        }
        let window = try ValidityWindow(
            now: now, validity: validity,
            within: (anchor.certificate.notValidBefore, anchor.certificate.notValidAfter, "the trust anchor"))
        let subject = try IdentityError.wrapping(.invalidArgument, "cluster '\(cluster)'") {
            try IdentityNames.issuerSubject(trustDomain: anchor.trustDomain, cluster: cluster)
        }
        let (certificate, key) = try CertificateSigning.issue(
            subject: subject, window: window, signer: (anchor.certificate, anchor.privateKey), profile: "issuer"
        ) {
            try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            }
        }
        return ClusterIssuer(
            certificate: certificate, privateKey: key, trustDomain: anchor.trustDomain, cluster: cluster,
            trustBundle: [anchor.certificate], clampedFrom: window.clampedFrom)
    }

    private init(
        certificate: Certificate, privateKey: P256.Signing.PrivateKey, trustDomain: String, cluster: String,
        trustBundle: [Certificate], clampedFrom: Date?
    ) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.trustDomain = trustDomain
        self.cluster = cluster
        self.trustBundle = trustBundle
        self.clampedFrom = clampedFrom
    }

    /// An issuer from its parts, checked: a CA named `meshgate issuer <cluster>` with a trust
    /// domain, the key belongs to it, and an anchor of `trustBundle` with the same trust domain
    /// signed it. The paths only name the files in errors.
    public init(
        certificate: Certificate, privateKey: P256.Signing.PrivateKey, trustBundle: [Certificate],
        certificatePath: String = "issuer certificate", keyPath: String = "issuer key", bundlePath: String = "trust bundle"
    ) throws(IdentityError) {
        guard CertificateSigning.isCA(certificate) else {
            throw IdentityError(.invalidFile, path: certificatePath, "\(certificatePath): not a CA certificate (\(certificate.subject))")
        }
        guard let cluster = IdentityNames.cluster(of: certificate), DNSName.isLabel(cluster) else {
            throw IdentityError(
                .invalidFile, path: certificatePath,
                "\(certificatePath): the common name is not '\(IdentityNames.issuerPrefix)<cluster>', not a meshgate issuer")
        }
        guard let trustDomain = IdentityNames.trustDomain(of: certificate), DNSName.isName(trustDomain) else {
            throw IdentityError(.invalidFile, path: certificatePath, "\(certificatePath): the subject names no trust domain (O=<trust-domain>)")
        }
        guard CertificateSigning.key(privateKey, matches: certificate) else {
            throw IdentityError(.keyMismatch, path: keyPath, "\(keyPath) does not belong to the certificate in \(certificatePath)")
        }
        guard let anchor = trustBundle.first(where: { CertificateSigning.isSigned(certificate, by: $0) }) else {
            let anchors = trustBundle.count == 1 ? "the anchor" : "any of the \(trustBundle.count) anchors"
            throw IdentityError(.untrusted, path: bundlePath, "\(certificatePath) was not signed by \(anchors) in \(bundlePath)")
        }
        guard IdentityNames.trustDomain(of: anchor) == trustDomain else {
            throw IdentityError(
                .invalidFile, path: certificatePath,
                "\(certificatePath) names trust domain \(trustDomain) but its anchor in \(bundlePath) does not")
        }
        self.init(
            certificate: certificate, privateKey: privateKey, trustDomain: trustDomain, cluster: cluster, trustBundle: trustBundle,
            clampedFrom: nil)
    }

    /// The issuer certificate as PEM.
    public var pemCertificate: String { (try? PEMCodec.encode([certificate])) ?? "" }
    /// The private key as PEM (PKCS#8).
    public var pemPrivateKey: String { PEMCodec.encode(privateKey) }
    /// The trust bundle (anchors) as PEM.
    public var pemTrustBundle: String { (try? PEMCodec.encode(trustBundle)) ?? "" }
}
