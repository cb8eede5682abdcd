import Foundation
import MeshgateNames

@testable import MeshgateTLS

/// A test PKI written to a temporary directory once per test run, all validity fixed in 2030:
/// anchor → intermediate per cluster (east, west; pathlen 0) → workload leaves; a second
/// anchor in the bundle (rotation); a rogue anchor the bundle does not hold; an expired leaf.
final class TestPKI: Sendable {
    static let shared = TestPKI()

    /// 2030-06-01T12:00:00Z: inside every leaf's validity except the expired one.
    static let validationTime: Int64 = 1_906_545_600

    static let serverIdentity = WorkloadIdentity(dnsName: "gateway.meshgate.serviceaccount.identity.cluster.local")!
    static let clientIdentity = WorkloadIdentity(dnsName: "gateway.meshgate-west.serviceaccount.identity.cluster.local")!

    let directory: String
    /// Both anchors (the rotation one first).
    var trustBundle: String { path("bundle.pem") }

    private init() {
        directory = NSTemporaryDirectory() + "meshgate-tls-tests-\(getpid())"
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "meshgate-tls-tests-\(getpid())") }
        let anchor = TestCertificate.anchor("meshgate test anchor", serial: 1)
        let rotation = TestCertificate.anchor("meshgate next anchor", serial: 2)
        let east = TestCertificate.intermediate("issuer east", serial: 10, issuer: anchor)
        let west = TestCertificate.intermediate("issuer west", serial: 11, issuer: anchor)
        TestCertificate.writePEM([rotation, anchor], to: path("bundle.pem"))

        writeLeaf("server", TestCertificate.leaf(Self.serverIdentity.dnsName, serial: 100, issuer: east), issuer: east)
        writeLeaf("client", TestCertificate.leaf(Self.clientIdentity.dnsName, serial: 101, issuer: west), issuer: west)
        let other = "other.meshgate-west.serviceaccount.identity.cluster.local"
        writeLeaf("other-client", TestCertificate.leaf(other, serial: 102, issuer: west), issuer: west)
        writeLeaf(
            "expired-client", TestCertificate.leaf(Self.clientIdentity.dnsName, serial: 103, issuer: west, day: "20300501"),
            issuer: west)
        writeLeaf(
            "anonymous-client", TestCertificate.leaf(Self.clientIdentity.dnsName, serial: 104, issuer: west, sans: "DNS:example.com"),
            issuer: west)

        // Cluster issuers named as `meshgate identity issuer` names them, for the issuer binding:
        // north's gateway from north's issuer, and one minted by east's issuer (a forgery).
        let meshEast = TestCertificate.intermediate("meshgate issuer east", serial: 13, issuer: anchor)
        let meshNorth = TestCertificate.intermediate("meshgate issuer north", serial: 14, issuer: anchor)
        let northGateway = "gateway.meshgate-north.serviceaccount.identity.cluster.local"
        writeLeaf("north-gateway", TestCertificate.leaf(northGateway, serial: 107, issuer: meshNorth), issuer: meshNorth)
        writeLeaf("north-gateway-by-east", TestCertificate.leaf(northGateway, serial: 108, issuer: meshEast), issuer: meshEast)
        writeLeaf(
            "east-gateway", TestCertificate.leaf("gateway.meshgate-east.serviceaccount.identity.cluster.local", serial: 109, issuer: meshEast),
            issuer: meshEast)
        writeLeaf(
            "east-workload", TestCertificate.leaf("web.shop.serviceaccount.identity.cluster.local", serial: 110, issuer: meshEast),
            issuer: meshEast)

        let rogueAnchor = TestCertificate.anchor("rogue anchor", serial: 3)
        let rogue = TestCertificate.intermediate("rogue issuer", serial: 12, issuer: rogueAnchor)
        writeLeaf("rogue-client", TestCertificate.leaf(Self.clientIdentity.dnsName, serial: 105, issuer: rogue), issuer: rogue)
        writeLeaf("rogue-server", TestCertificate.leaf(Self.serverIdentity.dnsName, serial: 106, issuer: rogue), issuer: rogue)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// `<name>.pem` (leaf then intermediate) and `<name>.key`.
    private func writeLeaf(_ name: String, _ leaf: TestCertificate, issuer: TestCertificate) {
        TestCertificate.writePEM([leaf, issuer], to: path(name + ".pem"))
        leaf.key.writePEM(to: path(name + ".key"))
    }

    /// A configuration for `role` presenting the leaf `<leaf>.pem` / `<leaf>.key`.
    func configuration(_ role: TLSRole, leaf: String) -> TLSConfiguration {
        var configuration = TLSConfiguration(
            role: role, certificateChainPath: path(leaf + ".pem"), privateKeyPath: path(leaf + ".key"), trustBundlePath: trustBundle)
        configuration.verificationTime = Self.validationTime
        return configuration
    }

    func serverContext(_ adjust: (inout TLSConfiguration) -> Void = { _ in }) throws -> TLSContext {
        var configuration = configuration(.server, leaf: "server")
        adjust(&configuration)
        return try TLSContext(configuration: configuration)
    }

    func clientContext(leaf: String = "client", _ adjust: (inout TLSConfiguration) -> Void = { _ in }) throws -> TLSContext {
        var configuration = configuration(.client, leaf: leaf)
        adjust(&configuration)
        return try TLSContext(configuration: configuration)
    }
}
