import Foundation
import MeshgateNames
import MeshgateTLS

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PKI written with the `openssl` command line (ECDSA P-256, SHA-256), as
/// `scripts/test-pki` writes one: anchors, issuers under them (`pathlen:0`) and workload leaves
/// carrying their identity as DNS and SPIFFE URI SANs (serverAuth + clientAuth). Every
/// certificate is a file in ``directory`` and a PEM string in memory.
///
/// - `<name>.pem`: an authority's certificate; a leaf's certificate followed by its issuer's
///   when the issuer is not an anchor.
/// - `<name>.key`: the unencrypted key, readable by its owner only (as `meshgate check` wants).
/// - ``writeBundle(_:to:)``: anchors in one file (the trust bundle).
public final class TestPKI: @unchecked Sendable {
    /// A certificate authority: an anchor (self-signed) or an issuer.
    public struct Authority: Sendable {
        public let name: String
        public let isAnchor: Bool
        public let certificatePath: String
        public let keyPath: String
        public let certificatePEM: String
    }

    /// A workload leaf.
    public struct Leaf: Sendable {
        public let name: String
        public let identity: WorkloadIdentity
        /// `<name>.pem`: the leaf, then its issuer unless that is an anchor.
        public let chainPath: String
        public let keyPath: String
        public let chainPEM: String
        public let keyPEM: String
    }

    /// The folder the files are written to.
    public let directory: String

    /// Uses (and creates) `directory`.
    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// A PKI in `<tmp>/meshgate-<label>-pki-<pid>`, removed when the test process exits.
    public static func temporary(_ label: String) throws -> TestPKI {
        let directory = NSTemporaryDirectory() + "meshgate-\(label)-pki-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        temporaryFolders.value.append(directory)
        _ = removeTemporaryFoldersAtExit
        return try TestPKI(directory: directory)
    }

    private static let temporaryFolders = LockedBox<[String]>([])
    private static let removeTemporaryFoldersAtExit: Void = {
        atexit { for folder in TestPKI.temporaryFolders.value { try? FileManager.default.removeItem(atPath: folder) } }
    }()

    /// The path of `file` in ``directory``.
    public func path(_ file: String) -> String { directory + "/" + file }

    /// A self-signed anchor with subject `/CN=<commonName>`.
    @discardableResult
    public func anchor(_ name: String, commonName: String, days: Int = 30) throws -> Authority {
        let key = try makeKey(name)
        try openssl([
            "req", "-new", "-x509", "-key", key, "-subj", "/CN=\(commonName)", "-days", "\(days)", "-sha256",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash", "-out", path(name + ".pem"),
        ])
        return Authority(
            name: name, isAnchor: true, certificatePath: path(name + ".pem"), keyPath: key,
            certificatePEM: try read(name + ".pem"))
    }

    /// An issuer with subject `subject` (e.g. `/O=cluster.local/CN=meshgate issuer east`) under `parent`.
    @discardableResult
    public func issuer(_ name: String, subject: String, signedBy parent: Authority, days: Int = 30) throws -> Authority {
        let key = try makeKey(name)
        try sign(
            name, key: key, subject: subject, by: parent, days: days, output: path(name + ".pem"),
            extensions: [
                "basicConstraints=critical,CA:TRUE,pathlen:0", "keyUsage=critical,keyCertSign,cRLSign",
                "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid:always",
            ])
        return Authority(
            name: name, isAnchor: false, certificatePath: path(name + ".pem"), keyPath: key,
            certificatePEM: try read(name + ".pem"))
    }

    /// The leaf of `namespace`/`serviceAccount` in `trustDomain`, signed by `issuer`.
    @discardableResult
    public func leaf(
        _ name: String, serviceAccount: String, namespace: String, trustDomain: String = "cluster.local",
        signedBy issuer: Authority, days: Int = 30
    ) throws -> Leaf {
        let dns = "\(serviceAccount).\(namespace).serviceaccount.identity.\(trustDomain)"
        let uri = "spiffe://\(trustDomain)/ns/\(namespace)/sa/\(serviceAccount)"
        guard let identity = WorkloadIdentity(uri) else { throw TestFailure("not a workload identity: \(uri)") }
        let key = try makeKey(name)
        let leafOnly = path(name + ".leaf.pem")
        try sign(
            name, key: key, subject: "/CN=\(dns)", by: issuer, days: days, output: leafOnly,
            extensions: [
                "basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature",
                "extendedKeyUsage=serverAuth,clientAuth", "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid:always",
                "subjectAltName=DNS:\(dns),URI:\(uri)",
            ])
        let chain = try read(name + ".leaf.pem") + (issuer.isAnchor ? "" : issuer.certificatePEM)
        try chain.write(toFile: path(name + ".pem"), atomically: true, encoding: .utf8)
        return Leaf(
            name: name, identity: identity, chainPath: path(name + ".pem"), keyPath: key, chainPEM: chain,
            keyPEM: try read(name + ".key"))
    }

    /// Writes `anchors` into one file `file` (default `bundle.pem`); returns its path.
    @discardableResult
    public func writeBundle(_ anchors: [Authority], to file: String = "bundle.pem") throws -> String {
        try anchors.map(\.certificatePEM).joined().write(toFile: path(file), atomically: true, encoding: .utf8)
        return path(file)
    }

    /// A TLS context for `role` presenting leaf `leaf` (`<leaf>.pem` / `<leaf>.key`) and
    /// trusting `bundle`.
    public func context(_ role: TLSRole, leaf: String, bundle: String = "bundle.pem") throws -> TLSContext {
        try TLSContext(
            configuration: TLSConfiguration(
                role: role, certificateChainPath: path(leaf + ".pem"), privateKeyPath: path(leaf + ".key"),
                trustBundlePath: path(bundle)))
    }

    // MARK: - openssl

    private func makeKey(_ name: String) throws -> String {
        let key = path(name + ".key")
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
        guard chmod(key, 0o600) == 0 else { throw TestFailure("chmod \(key): errno \(errno)") }
        return key
    }

    private func sign(
        _ name: String, key: String, subject: String, by parent: Authority, days: Int, output: String, extensions: [String]
    ) throws {
        let request = path(name + ".csr")
        let extensionFile = path(name + ".ext")
        try openssl(["req", "-new", "-key", key, "-subj", subject, "-out", request])
        try (extensions.joined(separator: "\n") + "\n").write(toFile: extensionFile, atomically: true, encoding: .utf8)
        let serial = String(UInt64.random(in: 1...UInt64(Int64.max)), radix: 16)
        try openssl([
            "x509", "-req", "-in", request, "-CA", parent.certificatePath, "-CAkey", parent.keyPath, "-set_serial", "0x" + serial,
            "-days", "\(days)", "-sha256", "-extfile", extensionFile, "-out", output,
        ])
    }

    private func openssl(_ arguments: [String]) throws {
        try ChildProcess.check(["openssl"] + arguments, timeout: 60)
    }

    private func read(_ file: String) throws -> String {
        try String(contentsOfFile: path(file), encoding: .utf8)
    }
}
