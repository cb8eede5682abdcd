import COpenSSL
import MeshgateNames
import Testing

@testable import MeshgateTLS

/// `bindsGatewayIssuers`: a peer presenting `meshgate-<c>/gateway` must be signed by
/// `CN=meshgate issuer <c>`, on the server and on the client side.
@Suite("Gateway identities bound to their cluster's issuer")
struct IssuerBindingTests {
    let pki = TestPKI.shared
    static let north = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-north/sa/gateway")!
    static let east = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-east/sa/gateway")!

    private func failure(after connection: TLSConnection) -> TLSError? {
        if case .failed(let error) = connection.handshake() { return error }
        if case .failed(let error) = BackToBack.readAll(connection).end { return error }
        return nil
    }

    private func context(_ role: TLSRole, leaf: String, binds: Bool = true) throws -> TLSContext {
        var c = pki.configuration(role, leaf: leaf)
        c.bindsGatewayIssuers = binds
        return try TLSContext(configuration: c)
    }

    @Test("server: north's gateway from north's issuer is accepted; the same identity minted by east's issuer is refused")
    func serverSide() throws {
        let server = try context(.server, leaf: "east-gateway")
        let good = try BackToBack.connect(client: context(.client, leaf: "north-gateway"), server: server, expecting: Self.east)
        #expect(good.server.handshake() == .complete)
        #expect(good.server.peerIdentity == Self.north)

        let (client, refused) = try BackToBack.connect(
            client: context(.client, leaf: "north-gateway-by-east"), server: server, expecting: Self.east)
        let error = try #require(failure(after: refused))
        #expect(error.code == .peerIssuerMismatch, "\(error)")
        #expect(error.message.contains("meshgate issuer north"), "\(error)")
        #expect(refused.peerIdentity == nil)
        #expect(failure(after: client)?.code == .alertReceived)
    }

    @Test("client: a server presenting north's gateway identity minted by east's issuer is refused")
    func clientSide() throws {
        let (client, _) = try BackToBack.connect(
            client: context(.client, leaf: "east-gateway"), server: context(.server, leaf: "north-gateway-by-east"),
            expecting: Self.north)
        #expect(failure(after: client)?.code == .peerIssuerMismatch)

        let ok = try BackToBack.connect(
            client: context(.client, leaf: "east-gateway"), server: context(.server, leaf: "north-gateway"), expecting: Self.north)
        #expect(ok.client.handshake() == .complete)
    }

    @Test("workload identities are not bound; without the option nothing is")
    func onlyGatewaysAndOnlyWhenAsked() throws {
        let server = try context(.server, leaf: "east-gateway")
        let workload = try BackToBack.connect(client: context(.client, leaf: "east-workload"), server: server, expecting: Self.east)
        #expect(workload.server.handshake() == .complete)

        let unbound = try context(.server, leaf: "east-gateway", binds: false)
        let forged = try BackToBack.connect(
            client: context(.client, leaf: "north-gateway-by-east"), server: unbound, expecting: Self.east)
        #expect(forged.server.handshake() == .complete)
    }

    @Test("an issuer whose name is not 'meshgate issuer <cluster>' does not vouch for a gateway identity")
    func unnamedIssuer() throws {
        // `client` is meshgate-west/gateway signed by `CN=issuer west`.
        let (_, refused) = try BackToBack.connect(client: pki.clientContext(), server: context(.server, leaf: "east-gateway"), expecting: Self.east)
        #expect(failure(after: refused)?.code == .peerIssuerMismatch)
    }
}
