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
        try Fixtures.withPKI { folder, pki in
            let (west, east) = try Fixtures.gateways(of: pki, in: folder)
            let forged = try Fixtures.workload("meshgate-west", "gateway", of: pki.east, in: folder, "forged")
            let eastIdentity = try #require(WorkloadIdentity(spiffeURI: east.leaf.identity.spiffeURI))
            let server = try Self.context(.server, folder: east.folder, time: time)

            let good = try TLSConnection(context: Self.context(.client, folder: west.folder, time: time), expectedPeerIdentity: eastIdentity)
            let goodServer = try TLSConnection(context: server)
            InMemoryHandshake.run(client: good, server: goodServer)
            #expect(goodServer.isHandshakeComplete, "\(String(describing: goodServer.failure))")

            let bad = try TLSConnection(context: Self.context(.client, folder: forged.folder, time: time), expectedPeerIdentity: eastIdentity)
            let badServer = try TLSConnection(context: server)
            InMemoryHandshake.run(client: bad, server: badServer)
            #expect(!badServer.isHandshakeComplete)
            #expect(badServer.failure?.code == .peerIssuerMismatch, "\(String(describing: badServer.failure))")
        }
    }
}
