import Foundation
import MeshgateControl
import MeshgateDiscovery
import MeshgateIdentity
import MeshgateLoop
import MeshgateNames
import MeshgateProxy
import MeshgateTLS
import Testing
import MeshgateTestKit

/// A hot reload runs the checks of `meshgate check` before switching identities (issue 11,
/// case 5): a running east gateway is handed bad identity files; the reload is refused, the
/// old certificate keeps being presented (a real probe over mTLS still verifies it), the refusal
/// is counted in `/status` and `/metrics`, and `/ready` stays 200.
@Suite(.serialized) struct IdentityReloadTests {
    enum Bad: String, CaseIterable, CustomStringConvertible {
        case leafOnly, otherIdentity, keyMismatch, notYetValid, expired
        var description: String { rawValue }
    }

    /// A west gateway's client context under the same anchor (the prober).
    static func westClient(_ pki: AdminTestPKI, directory: String) throws -> TLSContext {
        let west = try ClusterIssuer.create(anchor: pki.anchor, cluster: "west", now: Date().addingTimeInterval(-7 * 86400))
        let leaf = try LeafIdentity.issueGateway(issuer: west)
        let files = IdentityFiles(cert: directory + "/west.crt", key: directory + "/west.key", trust: pki.trust)
        try leaf.pemCertificate.write(toFile: files.cert, atomically: true, encoding: .utf8)
        try leaf.pemPrivateKey.write(toFile: files.key, atomically: true, encoding: .utf8)
        return try GatewayCredentialsLoader.load(files, handshakeTimeout: .seconds(5)).client
    }

    /// Probes the gateway's inbound port requiring east's gateway identity: succeeds only while
    /// it presents a certificate that verifies and names east.
    static func probe(_ g: AdminTestGateway, _ client: TLSContext) throws {
        let address = try SocketAddress.resolve(host: "127.0.0.1", port: g.inboundPort)
        _ = try GatewayProbe.probe(address, context: client, expected: WorkloadIdentity(g.pki.leaf.identity.spiffeURI)!, timeout: .seconds(5))
    }

    /// Writes the bad files of `bad` over the gateway's tls.crt / tls.key; returns what the
    /// refusal must say.
    static func writeBad(_ bad: Bad, _ pki: AdminTestPKI) throws -> String {
        let (cert, key, expect): (String, String, String)
        switch bad {
        case .leafOnly:
            let leaf = try LeafIdentity.issueGateway(issuer: pki.issuer)
            (cert, key, expect) = (try PEMCodec.encode([leaf.certificate]), leaf.pemPrivateKey, "holds only the leaf certificate")
        case .otherIdentity:
            let leaf = try LeafIdentity.issue(issuer: pki.issuer, namespace: "default", serviceAccount: "web")
            (cert, key, expect) = (leaf.pemCertificate, leaf.pemPrivateKey, "names spiffe://cluster.local/ns/default/sa/web")
        case .keyMismatch:
            let leaf = try LeafIdentity.issueGateway(issuer: pki.issuer)
            let other = try LeafIdentity.issueGateway(issuer: pki.issuer)
            (cert, key, expect) = (leaf.pemCertificate, other.pemPrivateKey, "identity.key")
        case .notYetValid:
            let leaf = try LeafIdentity.issueGateway(issuer: pki.issuer, now: Date().addingTimeInterval(3 * 3600))
            (cert, key, expect) = (leaf.pemCertificate, leaf.pemPrivateKey, "not valid before")
        case .expired:
            let leaf = try LeafIdentity.issueGateway(issuer: pki.issuer, validity: .seconds(3600), now: Date().addingTimeInterval(-2 * 86400))
            (cert, key, expect) = (leaf.pemCertificate, leaf.pemPrivateKey, "expired")
        }
        try key.write(toFile: pki.key, atomically: true, encoding: .utf8)
        try cert.write(toFile: pki.cert, atomically: true, encoding: .utf8)
        return expect
    }

    @Test("a reload of bad identity files is refused: the old certificate stays in use, counted in /status and /metrics", arguments: Bad.allCases)
    func refused(_ bad: Bad) throws {
        let g = try AdminTestGateway(label: "reload-\(bad)")
        try g.waitReady()
        let client = try Self.westClient(g.pki, directory: g.directory)
        try Self.probe(g, client)
        let before = try g.status().identity
        #expect(before.reloadsRefused == 0)

        let expect = try Self.writeBad(bad, g.pki)
        g.controller.reload()
        let after = try g.status().identity
        #expect((after.reloadsRefused ?? 0) >= 1, "\(after)")
        #expect(after.lastReloadRefusal?.contains(expect) == true, "\(after.lastReloadRefusal ?? "nil")")
        #expect(after.lastReloadRefusal?.contains(g.pki.directory) == true, "names the file: \(after.lastReloadRefusal ?? "nil")")
        #expect(after.name == before.name && after.notAfter == before.notAfter, "\(before) → \(after)")

        // The old identity is still presented: a handshake verifying east's identity succeeds.
        try Self.probe(g, client)
        let metrics = try PromText(try g.get("/metrics").text)
        #expect((metrics.value("meshgate_identity_reload_refused_total") ?? 0) >= 1)
        #expect(try g.get("/ready").status == 200)
    }

    @Test("a gateway started with a not yet valid certificate runs, not ready, and says why (the time checks do not stop a start)")
    func notYetValidAtStart() throws {
        let g = try AdminTestGateway(label: "future", issuedAt: Date().addingTimeInterval(3 * 3600))
        var last = ""
        let seen = waitUntil(timeout: 10) {
            guard let r = try? g.get("/ready") else { return false }
            last = "\(r.status) \(r.text)"
            return r.status == 503 && r.text.contains("the certificate \(g.pki.cert) is not valid before ")
        }
        #expect(seen, "\(last)")
    }

    @Test("a good rotation is still reloaded: new handshakes present the new certificate")
    func goodRotation() throws {
        let g = try AdminTestGateway(label: "reload-good")
        try g.waitReady()
        let client = try Self.westClient(g.pki, directory: g.directory)
        let before = try g.status().identity
        let leaf = try LeafIdentity.issueGateway(issuer: g.pki.issuer, validity: .seconds(48 * 3600))
        try leaf.pemPrivateKey.write(toFile: g.pki.key, atomically: true, encoding: .utf8)
        try leaf.pemCertificate.write(toFile: g.pki.cert, atomically: true, encoding: .utf8)
        g.controller.reload()
        let after = try g.status().identity
        #expect(after.notAfter != before.notAfter, "\(before) → \(after)")
        #expect(after.notAfter.map { abs($0.timeIntervalSince(leaf.certificate.notValidAfter)) < 1 } == true)
        #expect(after.reloadsRefused == 0, "\(after)")
        try Self.probe(g, client)
    }
}
