import MeshgateNames
import Testing

@testable import MeshgateTLS

@Suite("Verified issuers are remembered per context")
struct VerifiedIssuersTests {
    let pki = TestPKI.shared

    @Test("the first full handshake verifies up to the anchor; later ones stop at the remembered issuer, same identities")
    func laterChainsStopAtTheIssuer() throws {
        let client = try pki.clientContext()
        let server = try pki.serverContext()
        let (c1, s1) = try BackToBack.connect(client: client, server: server)
        #expect(c1.handshake() == .complete && s1.handshake() == .complete)
        #expect(c1.verifiedChainLength == 3 && s1.verifiedChainLength == 3, "leaf, issuer, anchor")
        for _ in 0..<3 {
            let (c, s) = try BackToBack.connect(client: client, server: server)
            #expect(c.handshake() == .complete && s.handshake() == .complete)
            #expect(!c.isSessionReused, "no session cache: full handshakes")
            #expect(c.verifiedChainLength == 2 && s.verifiedChainLength == 2, "leaf and the remembered issuer")
            #expect(c.peerIdentity == TestPKI.serverIdentity && s.peerIdentity == TestPKI.clientIdentity)
        }
    }

    @Test("a fresh context (a reload) verifies up to the anchor again")
    func freshContextStartsOver() throws {
        let client = try pki.clientContext()
        let server = try pki.serverContext()
        _ = try BackToBack.connect(client: client, server: server)
        let (c, s) = try BackToBack.connect(client: try pki.clientContext(), server: try pki.serverContext())
        #expect(c.handshake() == .complete && s.handshake() == .complete)
        #expect(c.verifiedChainLength == 3 && s.verifiedChainLength == 3)
    }

    static let east = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-east/sa/gateway")!

    private func failure(after connection: TLSConnection) -> TLSError? {
        if case .failed(let error) = connection.handshake() { return error }
        if case .failed(let error) = BackToBack.readAll(connection).end { return error }
        return nil
    }

    private func gatewayContext(_ role: TLSRole, leaf: String) throws -> TLSContext {
        var c = pki.configuration(role, leaf: leaf)
        c.bindsGatewayIssuers = true
        return try TLSContext(configuration: c)
    }

    @Test("a remembered issuer does not vouch for a chain from another anchor: the rogue client is still refused")
    func rogueStillRefused() throws {
        let client = try pki.clientContext()
        let server = try pki.serverContext()
        _ = try BackToBack.connect(client: client, server: server)
        let (_, refused) = try BackToBack.connect(client: try pki.clientContext(leaf: "rogue-client"), server: server)
        #expect(failure(after: refused)?.code == .unknownCA, "\(String(describing: refused.failure))")
        #expect(refused.peerIdentity == nil)
    }

    @Test("the issuer binding still holds once east's issuer is remembered: north's identity minted by it is refused")
    func issuerBindingStillApplies() throws {
        let server = try gatewayContext(.server, leaf: "east-gateway")
        let workload = try gatewayContext(.client, leaf: "east-workload")
        for expected in [3, 2] {
            let (c, s) = try BackToBack.connect(client: workload, server: server, expecting: Self.east)
            #expect(c.handshake() == .complete && s.handshake() == .complete)
            #expect(s.verifiedChainLength == expected, "east's issuer remembered after the first handshake")
        }
        let (_, refused) = try BackToBack.connect(
            client: try gatewayContext(.client, leaf: "north-gateway-by-east"), server: server, expecting: Self.east)
        let error = try #require(failure(after: refused))
        #expect(error.code == .peerIssuerMismatch, "\(error)")
        #expect(refused.peerIdentity == nil)
    }
}
