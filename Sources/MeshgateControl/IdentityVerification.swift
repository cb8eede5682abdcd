import Foundation
import MeshgateNames
import MeshgateProxy
import MeshgateTLS
import SwiftASN1
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// The checks a gateway's identity files must pass before a gateway serves them: one rule in
/// one place for `meshgate check`, `gateway --check`, the start and every hot reload
/// (docs/identity.md).
///
/// - the files load, and the key matches the certificate (OpenSSL builds both contexts);
/// - `tls.crt` carries the leaf's issuer unless the issuer is itself an anchor of the trust
///   bundle (a leaf-only file verifies nowhere but where its issuer is trusted);
/// - the leaf chains to the trust bundle and names the configured gateway identity (a TLS
///   handshake in memory between two connections made from these very files);
/// - the leaf is valid now: notBefore not in the future, notAfter not past (closer than
///   `GatewayCheck.expiryWarning` is a warning);
/// - the private key is not readable by group or others (a warning: the gateway still serves).
public struct IdentityVerification: Sendable {
    /// One refusal: what is wrong, as `file: field: message`, and whether only the time makes
    /// it wrong (an expired or not yet valid leaf: a renewed file can cure it in place).
    public struct Problem: Sendable, CustomStringConvertible {
        public let error: ConfigError
        public let timing: Bool
        public var description: String { error.description }
    }

    /// The files checked.
    public let files: IdentityFiles
    /// One line per check, as `meshgate check` prints them.
    public private(set) var results: [CheckResult] = []
    /// What makes the files unfit to serve (empty: fit).
    public private(set) var problems: [Problem] = []
    /// Warnings that do not stop serving (key permissions, near expiry).
    public private(set) var warnings: [String] = []
    /// The contexts built from the files (nil when they do not load).
    public private(set) var credentials: GatewayCredentials?
    /// The leaf as read from `files.cert`.
    public private(set) var leaf: LeafCertificateCache.Info

    /// True when nothing stops a gateway from serving these files.
    public var isAcceptable: Bool { credentials != nil && problems.isEmpty }

    /// Problems other than timing ones (what a start refuses; see docs/identity.md).
    public var structuralProblems: [Problem] { problems.filter { !$0.timing } }

    /// Runs every check. `expected` is the configured gateway identity (nil: the cluster cannot
    /// name one, itself a problem); `notAfter` reads the leaf's expiry (tests pass dates).
    public static func run(
        _ files: IdentityFiles, expected: WorkloadIdentity?, cluster: String, handshakeTimeout: Duration, now: Date = Date(),
        notAfter: (String) throws -> Date = GatewayCheck.leafNotAfter
    ) -> IdentityVerification {
        var v = IdentityVerification(files: files, leaf: .init(identity: nil, notAfter: nil, path: files.cert))
        v.check(expected: expected, cluster: cluster, handshakeTimeout: handshakeTimeout, now: now, notAfter: notAfter)
        return v
    }

    private init(files: IdentityFiles, leaf: LeafCertificateCache.Info) {
        self.files = files
        self.leaf = leaf
    }

    private mutating func fail(
        _ name: String, _ field: String, _ file: String, _ message: String, hint: String?, timing: Bool = false
    ) {
        results.append(CheckResult(name, .failed, message, hint: hint))
        problems.append(Problem(error: ConfigError(file: file, line: nil, field: field, message: message), timing: timing))
    }

    private mutating func check(
        expected: WorkloadIdentity?, cluster: String, handshakeTimeout: Duration, now: Date, notAfter: (String) throws -> Date
    ) {
        let issueHint =
            "issue the gateway's certificate again: meshgate identity issue --issuer <issuer dir> --gateway --out <dir> (docs/identity.md)"
        do {
            credentials = try GatewayCredentialsLoader.load(files, handshakeTimeout: handshakeTimeout)
            results.append(CheckResult("identity files load", .ok, "\(files.cert), \(files.key), \(files.trust)"))
        } catch {
            let text = error.errors.map(\.description).joined(separator: "\n")
            results.append(CheckResult("identity files load", .failed, text, hint: issueHint))
            problems += error.errors.map { Problem(error: $0, timing: false) }
        }
        checkKeyPermissions()
        guard let credentials else { return }

        // The chain as written: the leaf's issuer must follow it unless the issuer is an anchor.
        let parsed = Self.readCertificates(files.cert)
        let anchors = Self.readCertificates(files.trust)
        if let first = parsed.first {
            leaf = LeafCertificateCache.Info(
                identity: Self.spiffeURI(first), notAfter: first.notValidAfter, path: files.cert, notBefore: first.notValidBefore)
            if parsed.count == 1, first.issuer != first.subject, !anchors.contains(where: { $0.subject == first.issuer }) {
                fail(
                    "certificate chain complete", "identity.cert", files.cert,
                    "holds only the leaf certificate; its issuer (\(first.issuer)) must follow it, or peers cannot verify it (unknown CA)",
                    hint: "write the leaf followed by the cluster issuer's certificate (meshgate identity issue does)")
            }
        }

        // Chain to the trust bundle and identity, with OpenSSL's own verification.
        if let expected {
            switch GatewayCheck.inMemoryHandshake(credentials, expecting: expected) {
            case .success:
                results.append(CheckResult("certificate chain valid", .ok, "the leaf in \(files.cert) chains to \(files.trust)"))
                results.append(CheckResult("identity matches config", .ok, "\(expected)"))
            case .failure(let error) where error.code == .peerIdentityMismatch || error.code == .peerIdentityMissing:
                results.append(CheckResult("certificate chain valid", .ok, "the leaf in \(files.cert) chains to \(files.trust)"))
                let named = leaf.identity.map { "names \($0), not \(expected)" } ?? "does not name \(expected)"
                fail(
                    "identity matches config", "identity.cert", files.cert,
                    "the certificate \(named) (the gateway identity of cluster '\(cluster)')",
                    hint: "the certificate must name \(expected); issue it with --gateway from cluster \(cluster)'s issuer")
            case .failure(let error):
                let timing = error.code == .certificateExpired || error.code == .certificateNotYetValid
                fail(
                    "certificate chain valid", "identity.cert", files.cert, "the leaf does not verify against \(files.trust): \(error)",
                    hint: "the leaf must chain (through the issuer in \(files.cert)) to an anchor of \(files.trust)", timing: timing)
            }
        } else {
            fail("identity matches config", "cluster", files.cert, "cluster '\(cluster)' cannot name a gateway identity", hint: nil)
        }

        // The validity window.
        if let first = parsed.first, first.notValidBefore > now {
            fail(
                "certificate valid from", "identity.cert", files.cert,
                "not valid before \(ISO8601DateFormatter().string(from: first.notValidBefore)) (in the future)",
                hint: "check the clocks of this host and of the issuing host; issue it again", timing: true)
        }
        do {
            let expiry = try notAfter(files.cert)
            let left = expiry.timeIntervalSince(now)
            let text = "\(files.cert) expires \(ISO8601DateFormatter().string(from: expiry))"
            if left <= 0 {
                fail(
                    "certificate not expired", "identity.cert", files.cert, "expired at \(ISO8601DateFormatter().string(from: expiry))",
                    hint: "issue a new certificate now", timing: true)
            } else if left < GatewayCheck.expiryWarning {
                results.append(CheckResult(
                    "certificate expiry", .warning, "\(text), in \(DurationWords.of(left))",
                    hint: "renew it: the gateway reloads a rewritten certificate without dropping connections"))
                warnings.append("\(text), in \(DurationWords.of(left)): renew it")
            } else {
                results.append(CheckResult("certificate expiry", .ok, "\(text), in \(DurationWords.of(left))"))
            }
        } catch {
            fail("certificate expiry", "identity.cert", files.cert, "\(error)", hint: nil)
        }
    }

    /// ⚠ when the key file can be read by others, or by a group this process is not in. A key
    /// readable by the gateway's own group (`root:meshgate 0640` on a host; a Kubernetes Secret
    /// volume with `defaultMode: 0440`, whose files get the pod's `fsGroup`) is fine: that group
    /// is how a non-root gateway reads a key it does not own.
    private mutating func checkKeyPermissions() {
        guard let (mode, group) = Self.fileModeAndGroup(files.key) else { return }
        let text = String(mode & 0o777, radix: 8)
        let byOthers = mode & 0o007 != 0
        let byForeignGroup = mode & 0o070 != 0 && !Self.processGroups().contains(group)
        if byOthers || byForeignGroup {
            let who = byOthers ? "others" : "group \(group), which this process is not in"
            let message = "\(files.key) has mode \(text): readable by \(who)"
            results.append(CheckResult("private key permissions", .warning, message, hint: "chmod 600 \(files.key)"))
            warnings.append("\(message); chmod 600 it")
        } else {
            results.append(CheckResult("private key permissions", .ok, "\(files.key) has mode \(text)"))
        }
    }

    /// The permission bits and the group of `path` (nil when it cannot be stat'ed).
    static func fileModeAndGroup(_ path: String) -> (mode: UInt32, group: gid_t)? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return (UInt32(s.st_mode) & 0o7777, s.st_gid)
    }

    /// The effective and supplementary groups of this process.
    static func processGroups() -> Set<gid_t> {
        var groups = Set([getegid()])
        let n = getgroups(0, nil)
        if n > 0 {
            var list = [gid_t](repeating: 0, count: Int(n))
            let got = getgroups(n, &list)
            if got > 0 { groups.formUnion(list.prefix(Int(got))) }
        }
        return groups
    }

    /// The certificates of a PEM file, in order ([] when it cannot be read).
    static func readCertificates(_ path: String) -> [Certificate] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let documents = try? PEMDocument.parseMultiple(pemString: text)
        else { return [] }
        return documents.filter { $0.discriminator == "CERTIFICATE" }.compactMap { try? Certificate(derEncoded: $0.derBytes) }
    }

    static func spiffeURI(_ certificate: Certificate) -> String? {
        guard let names = try? certificate.extensions.subjectAlternativeNames else { return nil }
        for name in names {
            if case .uniformResourceIdentifier(let uri) = name, uri.hasPrefix("spiffe://") { return uri }
        }
        return nil
    }
}
