/// The file names of meshgate identity folders and how each credential is written to and read
/// from one.
///
/// | folder | files |
/// |---|---|
/// | anchor (`identity init`) | `anchor.crt`, `anchor.key` |
/// | issuer (`identity issuer`) | `ca.crt` (trust bundle), `issuer.key`, `issuer.crt` |
/// | leaf (`identity issue`) | `ca.crt` (trust bundle), `tls.key`, `tls.crt` (leaf, then issuer) |
public enum IdentityFolders {
    /// The trust anchor's certificate.
    public static let anchorCertificate = "anchor.crt"
    /// The trust anchor's private key.
    public static let anchorKey = "anchor.key"
    /// A cluster issuer's certificate.
    public static let issuerCertificate = "issuer.crt"
    /// A cluster issuer's private key.
    public static let issuerKey = "issuer.key"
    /// The trust bundle: one or several anchors.
    public static let trustBundle = "ca.crt"
    /// A leaf's chain: the leaf, then its issuer.
    public static let leafCertificate = "tls.crt"
    /// A leaf's private key.
    public static let leafKey = "tls.key"

    /// Loads `anchor.crt` and `anchor.key` from `directory`, checked (see ``TrustAnchor/init(certificate:privateKey:certificatePath:keyPath:)``).
    public static func loadAnchor(from directory: String) throws(IdentityError) -> TrustAnchor {
        let certificatePath = IdentityFiles.join(directory, anchorCertificate)
        let keyPath = IdentityFiles.join(directory, anchorKey)
        let certificates = try PEMCodec.certificates(in: FileReading.text(at: certificatePath), path: certificatePath)
        let key = try PEMCodec.privateKey(in: FileReading.text(at: keyPath), path: keyPath)
        return try TrustAnchor(certificate: certificates[0], privateKey: key, certificatePath: certificatePath, keyPath: keyPath)
    }

    /// Loads `issuer.crt`, `issuer.key` and `ca.crt` from `directory`, checked (see
    /// ``ClusterIssuer/init(certificate:privateKey:trustBundle:certificatePath:keyPath:bundlePath:)``).
    public static func loadIssuer(from directory: String) throws(IdentityError) -> ClusterIssuer {
        let certificatePath = IdentityFiles.join(directory, issuerCertificate)
        let keyPath = IdentityFiles.join(directory, issuerKey)
        let bundlePath = IdentityFiles.join(directory, trustBundle)
        let certificates = try PEMCodec.certificates(in: FileReading.text(at: certificatePath), path: certificatePath)
        let key = try PEMCodec.privateKey(in: FileReading.text(at: keyPath), path: keyPath)
        let bundle = try PEMCodec.certificates(in: FileReading.text(at: bundlePath), path: bundlePath)
        return try ClusterIssuer(
            certificate: certificates[0], privateKey: key, trustBundle: bundle, certificatePath: certificatePath, keyPath: keyPath,
            bundlePath: bundlePath)
    }
}

extension TrustAnchor {
    /// `anchor.key`, then `anchor.crt`.
    public var files: [IdentityFile] {
        [
            IdentityFile(name: IdentityFolders.anchorKey, contents: pemPrivateKey, isPrivateKey: true),
            IdentityFile(name: IdentityFolders.anchorCertificate, contents: pemCertificate, isPrivateKey: false),
        ]
    }
}

extension ClusterIssuer {
    /// `ca.crt`, `issuer.key`, then `issuer.crt`.
    public var files: [IdentityFile] {
        [
            IdentityFile(name: IdentityFolders.trustBundle, contents: pemTrustBundle, isPrivateKey: false),
            IdentityFile(name: IdentityFolders.issuerKey, contents: pemPrivateKey, isPrivateKey: true),
            IdentityFile(name: IdentityFolders.issuerCertificate, contents: pemCertificate, isPrivateKey: false),
        ]
    }
}

extension LeafIdentity {
    /// `ca.crt`, `tls.key`, then `tls.crt`: the certificate last, so a watcher that reloads on
    /// its change finds the new key and bundle already in place.
    public var files: [IdentityFile] {
        [
            IdentityFile(name: IdentityFolders.trustBundle, contents: pemTrustBundle, isPrivateKey: false),
            IdentityFile(name: IdentityFolders.leafKey, contents: pemPrivateKey, isPrivateKey: true),
            IdentityFile(name: IdentityFolders.leafCertificate, contents: pemCertificate, isPrivateKey: false),
        ]
    }
}
