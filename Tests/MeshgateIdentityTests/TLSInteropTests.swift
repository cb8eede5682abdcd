import Foundation
import MeshgateIdentity
import MeshgateNames
import MeshgateTLS
import Testing

/// Files written by the identity tooling, loaded into the TLS engine.
@Suite("The TLS engine accepts the issued identities")
struct TLSInteropTests {
    let time = Int64(Fixtures.now.timeIntervalSince1970) + 60

    @Test("west's gateway and east's gateway complete mutual TLS and see each other's identity")
    func crossCluster() throws {
        try Fixtures.withPKI { folder, pki in
            let (west, east) = try Fixtures.gateways(of: pki, in: folder)
            let westIdentity = try #require(WorkloadIdentity(spiffeURI: "spiffe://cluster.local/ns/meshgate-west/sa/gateway"))
            let eastIdentity = try #require(WorkloadIdentity(spiffeURI: "spiffe://cluster.local/ns/meshgate-east/sa/gateway"))

            let (client, server) = try InMemoryHandshake.connect(
                clientFolder: west.folder, serverFolder: east.folder, expecting: eastIdentity, time: time)
            #expect(client.isHandshakeComplete && server.isHandshakeComplete, "\(String(describing: client.failure ?? server.failure))")
            #expect(client.peerIdentity == eastIdentity)
            #expect(server.peerIdentity == westIdentity)
            #expect(client.peerIdentity != server.peerIdentity)
        }
    }

    @Test("a workload leaf and a gateway leaf of the same cluster handshake; the identity is the SPIFFE one issued")
    func sameCluster() throws {
        try Fixtures.withPKI { folder, pki in
            let web = try Fixtures.workload("shop", "web", of: pki.west, in: folder, "web")
            let gateway = try Fixtures.gateway(of: pki.west, in: folder, "gateway")
            let gatewayIdentity = try #require(WorkloadIdentity(spiffeURI: gateway.leaf.identity.spiffeURI))

            let (client, server) = try InMemoryHandshake.connect(
                clientFolder: web.folder, serverFolder: gateway.folder, expecting: gatewayIdentity, time: time)
            #expect(server.isHandshakeComplete)
            #expect(server.peerIdentity?.spiffeURI == "spiffe://cluster.local/ns/shop/sa/web")
            #expect(client.peerIdentity == gatewayIdentity)
        }
    }

    @Test("a leaf under another anchor is refused by the server")
    func foreignAnchorRefused() throws {
        try Fixtures.withFolder { folder in
            let ours = try Fixtures.PKI()
            let theirs = try Fixtures.PKI()  // same trust domain and names, different keys
            let server = try Fixtures.gateway(of: ours.east, in: folder, "server")
            let rogue = try LeafIdentity.issueGateway(issuer: theirs.west, now: Fixtures.now)
            // The rogue client trusts our anchor, so only the server's check can stop it.
            let rogueFiles = rogue.files.map { file in
                file.name == "ca.crt" ? IdentityFile(name: "ca.crt", contents: server.leaf.pemTrustBundle, isPrivateKey: false) : file
            }
            let rogueFolder = try Fixtures.write(rogueFiles, to: folder, "rogue")
            let serverIdentity = try #require(WorkloadIdentity(spiffeURI: server.leaf.identity.spiffeURI))

            let (client, serverConnection) = try InMemoryHandshake.connect(
                clientFolder: rogueFolder, serverFolder: server.folder, expecting: serverIdentity, time: time)
            #expect(!serverConnection.isHandshakeComplete)
            #expect(serverConnection.peerIdentity == nil)
            #expect(serverConnection.failure?.code == .unknownCA, "\(String(describing: serverConnection.failure))")
            // In TLS 1.3 the client is done after its Finished; the server's alert reaches it on the next read.
            _ = client
        }
    }

    @Test("a client expecting another cluster's gateway refuses the server")
    func wrongIdentityRefused() throws {
        try Fixtures.withPKI { folder, pki in
            let (west, east) = try Fixtures.gateways(of: pki, in: folder)
            // The client wants west's gateway but reaches east's.
            let wanted = try #require(WorkloadIdentity(spiffeURI: west.leaf.identity.spiffeURI))
            let (client, _) = try InMemoryHandshake.connect(clientFolder: west.folder, serverFolder: east.folder, expecting: wanted, time: time)
            #expect(!client.isHandshakeComplete)
            #expect(client.failure?.code == .peerIdentityMismatch, "\(String(describing: client.failure))")
        }
    }
}
