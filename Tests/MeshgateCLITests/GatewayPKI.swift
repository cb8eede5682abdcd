import Foundation
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

/// One PKI per test process, written with the binary's own `identity` subcommands: an anchor
/// for `cluster.local`, issuers `west`, `east` and `north`, each cluster's gateway leaf, and two
/// workload leaves under east's issuer (`shop/web`, `shop/other`).
final class GatewayPKI: Sendable {
    /// The three files a gateway (or an mTLS client) needs, as `identity issue` writes them.
    struct Files: Sendable {
        /// `tls.crt`: the leaf then the issuer.
        let cert: String
        /// `tls.key`.
        let key: String
        /// `ca.crt`: the trust bundle (the anchor).
        let trust: String

        init(folder: String) {
            cert = folder + "/tls.crt"
            key = folder + "/tls.key"
            trust = folder + "/ca.crt"
        }
    }

    let directory: String

    /// The PKI of this test process (written on first use).
    static func shared() throws -> GatewayPKI { try sharedResult.get() }

    private static let sharedResult = ProcessFixture.make { try GatewayPKI() }

    private init() throws {
        let dir = NSTemporaryDirectory() + "meshgate-gateway-pki-\(getpid())"
        directory = dir
        try? FileManager.default.removeItem(atPath: dir)
        atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "meshgate-gateway-pki-\(getpid())") }
        try Self.identity(["init", "--trust-domain", "cluster.local", "--out", dir + "/anchor"])
        for cluster in ["west", "east", "north"] {
            try Self.identity(["issuer", "--anchor", dir + "/anchor", "--cluster", cluster, "--out", "\(dir)/\(cluster)"])
            try Self.identity(["issue", "--issuer", "\(dir)/\(cluster)", "--gateway", "--out", "\(dir)/\(cluster)/gateway"])
        }
        for name in ["web", "other"] {
            try Self.identity(["issue", "--issuer", dir + "/east", "--namespace", "shop", "--name", name, "--out", "\(dir)/east/shop-\(name)"])
        }
    }

    /// Runs `meshgate identity ARGS`; throws unless it exits 0.
    private static func identity(_ arguments: [String]) throws {
        let run = try ChildProcess.run([MeshgateProcess.binary, "identity"] + arguments, timeout: 60)
        guard run.status == 0 else {
            throw TestFailure("meshgate identity \(arguments.joined(separator: " ")) exited \(run.status):\n\(run.stdout)\n\(run.stderr)")
        }
    }

    /// A cluster's gateway identity files.
    func gateway(_ cluster: String) -> Files { Files(folder: "\(directory)/\(cluster)/gateway") }

    /// A workload leaf of east's issuer (`shop/web`, `shop/other`).
    func workload(namespace: String, name: String) -> Files { Files(folder: "\(directory)/east/\(namespace)-\(name)") }

    /// `spiffe://cluster.local/ns/meshgate-<cluster>/sa/gateway`.
    static func gatewayIdentity(_ cluster: String) -> String { "spiffe://cluster.local/ns/meshgate-\(cluster)/sa/gateway" }

    /// `spiffe://cluster.local/ns/<namespace>/sa/<name>`.
    static func identity(namespace: String, name: String) -> String { "spiffe://cluster.local/ns/\(namespace)/sa/\(name)" }
}
