import Foundation
import MeshgateIdentity
import MeshgateNames
import MeshgateTLS
import Testing

/// The issuers `meshgate identity issuer` creates name their cluster the way the TLS engine's
/// gateway-issuer binding reads it (`bindsGatewayIssuers`).
@Suite("Issued identities and the gateway-issuer binding")
struct IssuerBindingInteropTests {
    let time = Int64(Fixtures.now.timeIntervalSince1970) + 60

    static func context(_ role: TLSRole, folder: String, time: Int64) throws -> TLSContext {
        var configuration = TLSConfiguration(
            role: role, certificateChainPath: folder + "/tls.crt", privateKeyPath: folder + "/tls.key",
            trustBundlePath: folder + "/ca.crt")
        configuration.verificationTime = time
        configuration.bindsGatewayIssuers = true
        return try TLSContext(configuration: configuration)
    }

    @Test("the prefix the identity tooling writes is the one the TLS engine checks")
    func samePrefix() {
        #expect(IdentityNames.issuerPrefix == WorkloadIdentity.gatewayIssuerPrefix)
    }

    @Test("west's gateway from west's issuer passes; meshgate-west/gateway issued by east's issuer is refused")
    func crossClusterMint() throws {
        let folder = Fixtures.makeFolder()
        defer { Fixtures.removeFolder(folder) }
        let pki = try Fixtures.PKI()
        let east = try LeafIdentity.issueGateway(issuer: pki.east, now: Fixtures.now)
        let west = try LeafIdentity.issueGateway(issuer: pki.west, now: Fixtures.now)
        let forged = try LeafIdentity.issue(issuer: pki.east, namespace: "meshgate-west", serviceAccount: "gateway", now: Fixtures.now)
        let eastFolder = try Fixtures.write(east.files, to: folder, "east")
        let westFolder = try Fixtures.write(west.files, to: folder, "west")
        let forgedFolder = try Fixtures.write(forged.files, to: folder, "forged")
        let eastIdentity = try #require(WorkloadIdentity(spiffeURI: east.identity.spiffeURI))
        let server = try Self.context(.server, folder: eastFolder, time: time)

        let good = try TLSConnection(context: Self.context(.client, folder: westFolder, time: time), expectedPeerIdentity: eastIdentity)
        let goodServer = try TLSConnection(context: server)
        InMemoryHandshake.run(client: good, server: goodServer)
        #expect(goodServer.isHandshakeComplete, "\(String(describing: goodServer.failure))")

        let bad = try TLSConnection(context: Self.context(.client, folder: forgedFolder, time: time), expectedPeerIdentity: eastIdentity)
        let badServer = try TLSConnection(context: server)
        InMemoryHandshake.run(client: bad, server: badServer)
        #expect(!badServer.isHandshakeComplete)
        #expect(badServer.failure?.code == .peerIssuerMismatch, "\(String(describing: badServer.failure))")
    }
}
