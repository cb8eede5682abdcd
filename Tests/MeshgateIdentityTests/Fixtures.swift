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

    /// Runs `body` with a new empty temporary folder, removed after.
    static func withFolder<T>(_ body: (_ folder: String) throws -> T) rethrows -> T {
        let folder = makeFolder()
        defer { removeFolder(folder) }
        return try body(folder)
    }

    /// Runs `body` with a new empty temporary folder (removed after) and a fresh ``PKI``.
    static func withPKI<T>(trustDomain: String = "cluster.local", _ body: (_ folder: String, _ pki: PKI) throws -> T) throws -> T {
        try withFolder { folder in try body(folder, try PKI(trustDomain: trustDomain)) }
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

    /// west's and east's gateway leaves, issued at ``now`` and written to `parent/west` and `parent/east`.
    static func gateways(of pki: PKI, in parent: String) throws -> (west: WrittenLeaf, east: WrittenLeaf) {
        (try gateway(of: pki.west, in: parent, "west"), try gateway(of: pki.east, in: parent, "east"))
    }

    /// `issuer`'s files written to `parent/name`, then its file `file` replaced by `contents`
    /// (a broken or rotated issuer folder); returns the folder's path.
    static func writeIssuer(_ issuer: ClusterIssuer, to parent: String, _ name: String, replacing file: String, with contents: String) throws -> String {
        let folder = try write(issuer.files, to: parent, name)
        try contents.write(toFile: folder + "/" + file, atomically: true, encoding: .utf8)
        return folder
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
