import COpenSSL
import MeshgateNames
import Testing

@testable import MeshgateTLS

@Suite("Handshakes that must fail, with typed errors")
struct RefusalTests {
    let pki = TestPKI.shared

    /// The error `connection` ended with, after reading whatever the peer sent.
    private func failure(after connection: TLSConnection) -> TLSError? {
        if case .failed(let error) = connection.handshake() { return error }
        if case .failed(let error) = BackToBack.readAll(connection).end { return error }
        return nil
    }

    /// The error a server of ``pki`` ended with after a handshake with `raw`, a raw client.
    private func serverFailure(against raw: RawPeer) throws -> TLSError? {
        let server = try TLSConnection(context: pki.serverContext())
        BackToBack.pump(raw, server)
        return failure(after: server)
    }

    @Test("client refuses a server whose identity is not the expected one")
    func wrongExpectedIdentity() throws {
        let wanted = WorkloadIdentity(trustDomain: "cluster.local", namespace: "meshgate", serviceAccount: "someone-else")!
        let (client, server) = try BackToBack.connect(client: pki.clientContext(), server: pki.serverContext(), expecting: wanted)
        let error = try #require(failure(after: client))
        #expect(error.code == .peerIdentityMismatch)
        #expect(error.message.contains(wanted.spiffeURI) && error.message.contains(TestPKI.serverIdentity.spiffeURI))
        #expect(failure(after: server)?.code == .alertReceived)
    }

    @Test("server refuses a client identity outside its allow-list")
    func allowListRefusal() throws {
        let server = try pki.serverContext { $0.allowedPeerIdentities = [TestPKI.clientIdentity] }
        let allowed = try BackToBack.connect(client: pki.clientContext(), server: server)
        #expect(allowed.server.handshake() == .complete)

        let (client, refused) = try BackToBack.connect(client: pki.clientContext(leaf: "other-client"), server: server)
        let error = try #require(failure(after: refused))
        #expect(error.code == .peerIdentityMismatch)
        #expect(error.message.contains("spiffe://cluster.local/ns/meshgate-west/sa/other"))
        #expect(failure(after: client)?.code == .alertReceived)
    }

    @Test("a peer certificate without a meshgate identity is refused")
    func missingIdentity() throws {
        let (_, server) = try BackToBack.connect(client: pki.clientContext(leaf: "anonymous-client"), server: pki.serverContext())
        #expect(failure(after: server)?.code == .peerIdentityMissing)
    }

    @Test("server refuses a client certificate from another CA")
    func clientFromOtherCA() throws {
        let (client, server) = try BackToBack.connect(client: pki.clientContext(leaf: "rogue-client"), server: pki.serverContext())
        #expect(failure(after: server)?.code == .unknownCA)
        #expect(failure(after: client)?.code == .alertReceived)
    }

    @Test("client refuses a server certificate from another CA")
    func serverFromOtherCA() throws {
        var configuration = pki.configuration(.server, leaf: "rogue-server")
        configuration.trustBundlePath = pki.trustBundle
        let (client, _) = try BackToBack.connect(client: pki.clientContext(), server: TLSContext(configuration: configuration))
        #expect(failure(after: client)?.code == .unknownCA)
    }

    @Test("server refuses a client without a certificate")
    func noClientCertificate() throws {
        #expect(try serverFailure(against: RawPeer(server: false, alpn: "meshgate/1"))?.code == .peerCertificateRequired)
    }

    @Test("an expired client certificate is refused")
    func expiredCertificate() throws {
        let (client, server) = try BackToBack.connect(client: pki.clientContext(leaf: "expired-client"), server: pki.serverContext())
        let error = try #require(failure(after: server))
        #expect(error.code == .certificateExpired)
        #expect(failure(after: client)?.code == .alertReceived)
    }

    @Test(
        "a TLS 1.2-only client is refused for its protocol version, with meshgate/1 or without ALPN (not for ALPN)",
        arguments: ["meshgate/1", nil] as [String?])
    func tls12Client(alpn: String?) throws {
        let raw = RawPeer(server: false, maxVersion: TLS1_2_VERSION, alpn: alpn)
        #expect(try serverFailure(against: raw)?.code == .protocolVersion)
        #expect(raw.failed)
    }

    @Test("server refuses a client that offers no meshgate/1, or no ALPN at all")
    func alpnMismatchOnServer() throws {
        let (_, server) = try BackToBack.connect(
            client: pki.clientContext { $0.applicationProtocol = "h2" }, server: pki.serverContext())
        #expect(failure(after: server)?.code == .alpnMismatch)

        let raw = RawPeer(server: false)
        #expect(try serverFailure(against: raw)?.code == .alpnMismatch)
        #expect(raw.failed)
    }

    @Test("client refuses a server that selects no protocol")
    func alpnMismatchOnClient() throws {
        let raw = RawPeer(server: true, chain: pki.path("server.pem"), key: pki.path("server.key"))
        let client = try TLSConnection(context: pki.clientContext(), expectedPeerIdentity: TestPKI.serverIdentity)
        BackToBack.pump(client, raw)
        let error = try #require(failure(after: client))
        #expect(error.code == .alpnMismatch)
    }
}
