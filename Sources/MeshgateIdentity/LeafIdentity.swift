import Crypto
import Foundation
import MeshgateNames
import X509

/// A workload's short-lived certificate, signed by its cluster's issuer, naming its identity in
/// two SANs: DNS `<sa>.<ns>.serviceaccount.identity.<trust-domain>` and URI
/// `spiffe://<trust-domain>/ns/<ns>/sa/<sa>` (docs/identity.md).
///
/// basicConstraints CA:false (critical), keyUsage digitalSignature (critical), extendedKeyUsage
/// serverAuth + clientAuth, subject and authority key identifiers.
public struct LeafIdentity: Sendable {
    /// One day (`24h`).
    public static let defaultValidity: Duration = .seconds(24 * 3_600)

    /// The leaf certificate.
    public let certificate: Certificate
    /// Its private key.
    public let privateKey: P256.Signing.PrivateKey
    /// The identity the SANs name.
    public let identity: WorkloadIdentity
    /// The issuer certificate that signed the leaf (sent with it in the handshake).
    public let issuerCertificate: Certificate
    /// The anchors the workload trusts (the issuer's bundle).
    public let trustBundle: [Certificate]
    /// When the requested validity reached past the issuer's notAfter: the end asked for (the
    /// leaf ends with the issuer instead). Nil when the request fit.
    public let clampedFrom: Date?

    /// Makes a new key and a leaf for `serviceAccount` in `namespace`, signed by `issuer`, valid
    /// from 5 minutes before `now` for `validity`, never beyond the issuer's notAfter.
    ///
    /// - Throws: ``IdentityError/Code/invalidArgument`` for names that do not make an identity or
    ///   a validity out of range; ``IdentityError/Code/expired`` when the issuer is not valid at `now`.
    public static func issue(
        issuer: ClusterIssuer, namespace: String, serviceAccount: String, validity: Duration = defaultValidity, now: Date = Date()
    ) throws(IdentityError) -> LeafIdentity {
        guard DNSName.isLabel(namespace) else {
            throw IdentityError(.invalidArgument, "namespace '\(namespace)': not a DNS label (1-63 lowercase letters, digits, '-')")
        }
        guard let identity = WorkloadIdentity(trustDomain: issuer.trustDomain, namespace: namespace, serviceAccount: serviceAccount)
        else {
            throw IdentityError(.invalidArgument, "service account '\(serviceAccount)': not a DNS name (lowercase letters, digits, '-', dots)")
        }
        return try issue(issuer: issuer, identity: identity, validity: validity, now: now)
    }

    /// The leaf of cluster `issuer.cluster`'s gateway: `spiffe://<trust-domain>/ns/meshgate-<cluster>/sa/gateway`.
    public static func issueGateway(
        issuer: ClusterIssuer, validity: Duration = defaultValidity, now: Date = Date()
    ) throws(IdentityError) -> LeafIdentity {
        guard let identity = WorkloadIdentity.gateway(cluster: issuer.cluster, trustDomain: issuer.trustDomain) else {
            throw IdentityError(.invalidArgument, "cluster '\(issuer.cluster)' is too long for namespace meshgate-<cluster>")
        }
        return try issue(issuer: issuer, identity: identity, validity: validity, now: now)
    }

    private static func issue(
        issuer: ClusterIssuer, identity: WorkloadIdentity, validity: Duration, now: Date
    ) throws(IdentityError) -> LeafIdentity {
        let window = try ValidityWindow(
            now: now, validity: validity,
            within: (issuer.certificate.notValidBefore, issuer.certificate.notValidAfter, "issuer \(issuer.cluster)"))
        let subject = try IdentityError.wrapping(.invalidArgument, "identity \(identity)") {
            try IdentityNames.leafSubject(identity)
        }
        let (certificate, key) = try CertificateSigning.issue(
            subject: subject, window: window, signer: (issuer.certificate, issuer.privateKey), profile: "leaf"
        ) {
            try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames([.dnsName(identity.dnsName), .uniformResourceIdentifier(identity.spiffeURI)])
            }
        }
        return LeafIdentity(
            certificate: certificate, privateKey: key, identity: identity, issuerCertificate: issuer.certificate,
            trustBundle: issuer.trustBundle, clampedFrom: window.clampedFrom)
    }

    private init(
        certificate: Certificate, privateKey: P256.Signing.PrivateKey, identity: WorkloadIdentity, issuerCertificate: Certificate,
        trustBundle: [Certificate], clampedFrom: Date?
    ) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.identity = identity
        self.issuerCertificate = issuerCertificate
        self.trustBundle = trustBundle
        self.clampedFrom = clampedFrom
    }

    /// The chain as PEM: the leaf, then the issuer.
    public var pemCertificate: String { (try? PEMCodec.encode([certificate, issuerCertificate])) ?? "" }
    /// The private key as PEM (PKCS#8).
    public var pemPrivateKey: String { PEMCodec.encode(privateKey) }
    /// The trust bundle (anchors) as PEM.
    public var pemTrustBundle: String { (try? PEMCodec.encode(trustBundle)) ?? "" }
}
