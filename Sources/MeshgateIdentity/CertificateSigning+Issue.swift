import Crypto
import X509

extension CertificateSigning {
    /// The certificate that signs a new one, and its key.
    typealias Signer = (certificate: Certificate, key: P256.Signing.PrivateKey)

    /// A new P-256 key and its certificate for `subject`, valid for `window`, signed by `signer`
    /// (self-signed when nil). Its extensions are the profile's (`extensions`, built after the
    /// key exists), then its subject key identifier, then, when a signer signs it, the signer's
    /// key identifier as authority key identifier. `profile` names the certificate in errors.
    static func issue(
        subject: DistinguishedName, window: ValidityWindow, signer: Signer?, profile: String,
        extensions: () throws -> Certificate.Extensions
    ) throws(IdentityError) -> (certificate: Certificate, key: P256.Signing.PrivateKey) {
        let key = P256.Signing.PrivateKey()
        let all = try IdentityError.wrapping(.internalError, "\(profile) extensions") {
            var all = try extensions()
            try all.append(Certificate.Extension(SubjectKeyIdentifier(hash: Certificate.PublicKey(key.publicKey)), critical: false))
            if let signer {
                try all.append(
                    Certificate.Extension(AuthorityKeyIdentifier(keyIdentifier: keyIdentifier(of: signer.certificate)), critical: false))
            }
            return all
        }
        let certificate = try sign(
            subject: subject, publicKey: key.publicKey, issuer: signer?.certificate.subject ?? subject,
            issuerKey: signer?.key ?? key, window: window, extensions: all)
        return (certificate, key)
    }
}
