import Crypto
import Foundation
import X509

/// Signs certificates for the trust anchor, the cluster issuers and the leaves: X.509 v3,
/// random serial, ECDSA with SHA-256.
enum CertificateSigning {
    static func sign(
        subject: DistinguishedName, publicKey: P256.Signing.PublicKey, issuer: DistinguishedName,
        issuerKey: P256.Signing.PrivateKey, window: ValidityWindow, extensions: Certificate.Extensions
    ) throws(IdentityError) -> Certificate {
        try IdentityError.wrapping(.internalError, "cannot sign the certificate for \(subject)") {
            try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: Certificate.PublicKey(publicKey),
                notValidBefore: window.notBefore,
                notValidAfter: window.notAfter,
                issuer: issuer,
                subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions,
                issuerPrivateKey: Certificate.PrivateKey(issuerKey))
        }
    }

    /// The subject key identifier of `certificate`, for the authority key identifier of the
    /// certificates it signs; computed from the key when the extension is absent.
    static func keyIdentifier(of certificate: Certificate) -> ArraySlice<UInt8> {
        if let ski = try? certificate.extensions.subjectKeyIdentifier { return ski.keyIdentifier }
        return SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier
    }

    /// True when `key` is the private half of `certificate`'s public key.
    static func key(_ key: P256.Signing.PrivateKey, matches certificate: Certificate) -> Bool {
        guard let p256 = P256.Signing.PublicKey(certificate.publicKey) else { return false }
        return p256.rawRepresentation == key.publicKey.rawRepresentation
    }

    /// True when `signer`'s key made `certificate`'s signature and `signer` is named as its issuer.
    static func isSigned(_ certificate: Certificate, by signer: Certificate) -> Bool {
        certificate.issuer == signer.subject && signer.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    /// True for a certificate whose basic constraints say CA.
    static func isCA(_ certificate: Certificate) -> Bool {
        if case .isCertificateAuthority = try? certificate.extensions.basicConstraints { return true }
        return false
    }
}
