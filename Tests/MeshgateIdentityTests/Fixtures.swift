import Foundation
import MeshgateIdentity
import MeshgateTestKit

/// Shared test fixtures: a fixed clock and a PKI built at it, written to temporary folders.
enum Fixtures {
    /// 2030-06-01T12:00:00Z: every certificate in these tests is issued at this time.
    static let now = Date(timeIntervalSince1970: 1_906_545_600)

    /// A new empty temporary folder; remove it with ``removeFolder(_:)``.
    static func makeFolder() -> String {
        let path = NSTemporaryDirectory() + "meshgate-identity-tests-\(getpid())-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func removeFolder(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Anchor for `cluster.local`, issuers for west and east, all at ``now``.
    struct PKI {
        let anchor: TrustAnchor
        let west: ClusterIssuer
        let east: ClusterIssuer

        init(trustDomain: String = "cluster.local") throws {
            anchor = try TrustAnchor.create(trustDomain: trustDomain, now: Fixtures.now)
            west = try ClusterIssuer.create(anchor: anchor, cluster: "west", now: Fixtures.now)
            east = try ClusterIssuer.create(anchor: anchor, cluster: "east", now: Fixtures.now)
        }
    }

    /// Writes `files` into a new folder under `parent` named `name`; returns its path.
    @discardableResult
    static func write(_ files: [IdentityFile], to parent: String, _ name: String) throws -> String {
        let folder = parent + "/" + name
        try IdentityFiles.write(files, into: folder, force: false)
        return folder
    }

    /// A leaf and the folder its files were written to.
    struct WrittenLeaf {
        let leaf: LeafIdentity
        let folder: String
    }

    /// `issuer`'s gateway leaf, issued at ``now`` and written to a new folder `parent/name`.
    static func gateway(of issuer: ClusterIssuer, in parent: String, _ name: String) throws -> WrittenLeaf {
        let leaf = try LeafIdentity.issueGateway(issuer: issuer, now: now)
        return WrittenLeaf(leaf: leaf, folder: try write(leaf.files, to: parent, name))
    }

    /// The leaf of `namespace`/`serviceAccount` from `issuer`, issued at ``now`` and written to a
    /// new folder `parent/name`.
    static func workload(
        _ namespace: String, _ serviceAccount: String, of issuer: ClusterIssuer, in parent: String, _ name: String
    ) throws -> WrittenLeaf {
        let leaf = try LeafIdentity.issue(issuer: issuer, namespace: namespace, serviceAccount: serviceAccount, now: now)
        return WrittenLeaf(leaf: leaf, folder: try write(leaf.files, to: parent, name))
    }
}

/// Runs a program and captures its output (through the test kit's `ChildProcess`).
enum Subprocess {
    struct Result {
        let status: Int32
        let output: String
    }

    /// Runs `executable` with `arguments` (killed after 60 s); standard output then standard error.
    static func run(_ executable: String, _ arguments: [String]) throws -> Result {
        let run = try ChildProcess.run([executable] + arguments, timeout: 60)
        return Result(status: run.status, output: run.stdout + run.stderr)
    }

    /// `/usr/bin/openssl`.
    static let openssl = "/usr/bin/openssl"

    /// `openssl verify -attime TIME -CAfile CA_FILE -untrusted UNTRUSTED CERTIFICATE`: checks
    /// `certificate` at `time` (seconds since 1970) against the anchors in `caFile`.
    static func opensslVerify(at time: String, caFile: String, untrusted: String, _ certificate: String) throws -> Result {
        try run(openssl, ["verify", "-attime", time, "-CAfile", caFile, "-untrusted", untrusted, certificate])
    }
}
