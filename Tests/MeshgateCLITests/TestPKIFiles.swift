import Foundation
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

/// The throwaway PKI of `scripts/test-pki`, written once per test process to a temporary
/// directory (removed at exit): anchor → east/west issuers → leaves, plus a rogue CA.
///
/// Besides the script's files, this writes what other TLS peers need:
/// `<leaf>-chain.pem` (the issuer alone, for `openssl s_client/s_server -cert_chain`) and
/// `<leaf>-combined.pem` (leaf, issuer, key: HAProxy's `crt`).
final class TestPKIFiles: Sendable {
    /// The leaves `scripts/test-pki` writes.
    static let leaves = ["east", "west", "other", "expired", "rogue"]

    let directory: String
    /// Identities from `identities.env`.
    let eastIdentity: String
    let westIdentity: String
    let otherIdentity: String

    /// The PKI of this test process (written on first use).
    static func shared() throws -> TestPKIFiles { try sharedResult.get() }

    private static let sharedResult = ProcessFixture.make { try TestPKIFiles() }

    /// The repository root (three levels above this file).
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    private init() throws {
        let dir = NSTemporaryDirectory() + "meshgate-cli-pki-\(getpid())"
        directory = dir
        try? FileManager.default.removeItem(atPath: dir)
        let script = Self.repositoryRoot.appendingPathComponent("scripts/test-pki").path
        let run = try ChildProcess.run(["/bin/bash", script, dir], timeout: 60)
        guard run.status == 0 else {
            throw TestFailure("scripts/test-pki \(dir) failed with status \(run.status):\n\(run.stdout)\n\(run.stderr)")
        }
        atexit {
            try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "meshgate-cli-pki-\(getpid())")
        }
        let env = try String(contentsOfFile: dir + "/identities.env", encoding: .utf8)
        var values: [String: String] = [:]
        for line in env.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        guard let east = values["EAST_IDENTITY"], let west = values["WEST_IDENTITY"], let other = values["OTHER_IDENTITY"] else {
            throw TestFailure("identities.env lacks an identity: \(env)")
        }
        eastIdentity = east
        westIdentity = west
        otherIdentity = other
        for leaf in Self.leaves {
            let pem = try String(contentsOfFile: "\(dir)/\(leaf).pem", encoding: .utf8)
            let key = try String(contentsOfFile: "\(dir)/\(leaf).key", encoding: .utf8)
            let certificates = pem.components(separatedBy: "-----BEGIN CERTIFICATE-----").dropFirst()
            guard certificates.count >= 2 else { throw TestFailure("\(leaf).pem holds \(certificates.count) certificates, expected leaf + issuer") }
            let chain = certificates.dropFirst().map { "-----BEGIN CERTIFICATE-----" + $0 }.joined()
            try chain.write(toFile: "\(dir)/\(leaf)-chain.pem", atomically: true, encoding: .utf8)
            try (pem + (pem.hasSuffix("\n") ? "" : "\n") + key).write(toFile: "\(dir)/\(leaf)-combined.pem", atomically: true, encoding: .utf8)
        }
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// The trust bundle (the anchor of east, west, other and expired).
    var bundle: String { path("bundle.pem") }
    /// The rogue CA's anchor (not in `bundle`).
    var rogueBundle: String { path("rogue-bundle.pem") }
    /// `<leaf>.pem`: leaf then issuer.
    func cert(_ leaf: String) -> String { path("\(leaf).pem") }
    func key(_ leaf: String) -> String { path("\(leaf).key") }
    /// The issuer alone.
    func chain(_ leaf: String) -> String { path("\(leaf)-chain.pem") }
    /// Leaf, issuer and key in one file.
    func combined(_ leaf: String) -> String { path("\(leaf)-combined.pem") }

    /// `meshgate proxy` flags terminating mTLS with `leaf` (default east), accepting `allow` (default: any).
    func terminateFlags(leaf: String = "east", allow: [String] = []) -> [String] {
        var flags = ["--listen-tls", "--cert", cert(leaf), "--key", key(leaf), "--trust", bundle]
        for id in allow { flags += ["--allow-identity", id] }
        return flags
    }

    /// `meshgate proxy` flags originating mTLS with `leaf` (default west), requiring `expect` (default east).
    func originateFlags(leaf: String = "west", expect: String? = nil) -> [String] {
        ["--upstream-tls", "--cert", cert(leaf), "--key", key(leaf), "--trust", bundle, "--expect-identity", expect ?? eastIdentity]
    }
}
