import MeshgateNames
import Testing

@testable import MeshgateTLS

@Suite("Resumption is bound to the server's identity, trust and policy")
struct SessionIdentityBindingTests {
    let pki = TestPKI.shared

    /// A server context presenting `leaf`, with the ticket keys of `keyFile` loaded afresh (as a
    /// restart, a reload or another replica would).
    private func server(leaf: String = "server", keyFile: String, _ adjust: (inout TLSConfiguration) -> Void = { _ in }) throws
        -> TLSContext
    {
        var configuration = pki.configuration(.server, leaf: leaf)
        configuration.ticketKeys = try TLSTicketKeys(contentsOfFile: keyFile)
        adjust(&configuration)
        return try TLSContext(configuration: configuration)
    }

    @Test("a ticket from S1 is not resumed by S2 (same key file, another identity): full handshake, identity refused; S1' resumes it")
    func identityChange() throws {
        let keyFile = try pki.writeTicketKeyFile([.random()])
        let keys = try TLSTicketKeys(contentsOfFile: keyFile)
        let bed = try ResumptionBed(pki) { $0.ticketKeys = keys }
        try bed.prime()

        let (c, s) = try bed.connect(to: server(leaf: "east-gateway", keyFile: keyFile))
        guard case .failed(let error) = c.handshake() else {
            Issue.record("a server with another identity was accepted")
            return
        }
        #expect(error.code == .peerIdentityMismatch, "\(error)")
        #expect(!c.isSessionReused && !s.isSessionReused)

        let (c2, s2) = try bed.connect(to: server(keyFile: keyFile))
        #expect(c2.handshake() == .complete && s2.handshake() == .complete)
        #expect(c2.isSessionReused && s2.isSessionReused)
        #expect(c2.peerIdentity == TestPKI.serverIdentity && s2.peerIdentity == TestPKI.clientIdentity)
    }

    @Test("a server whose client policy changed makes a full handshake, which checks the client again")
    func policyChange() throws {
        let keyFile = try pki.writeTicketKeyFile([.random()])
        let keys = try TLSTicketKeys(contentsOfFile: keyFile)
        let bed = try ResumptionBed(pki) { $0.ticketKeys = keys }
        try bed.prime()
        let (c, s) = try bed.connect(to: server(keyFile: keyFile) { $0.allowedPeerIdentities = [TestPKI.clientIdentity] })
        #expect(c.handshake() == .complete && s.handshake() == .complete)
        #expect(!c.isSessionReused && !s.isSessionReused)
    }

    @Test("the session id context: 32 bytes, equal for the same files and policy, different otherwise")
    func contextDigest() throws {
        let keyFile = try pki.writeTicketKeyFile([.random()])
        let s1 = try server(keyFile: keyFile).sessionIDContext
        #expect(s1.count == 32)
        #expect(try server(keyFile: keyFile).sessionIDContext == s1)
        #expect(try server(leaf: "east-gateway", keyFile: keyFile).sessionIDContext != s1)
        #expect(try server(keyFile: keyFile) { $0.allowedPeerIdentities = [TestPKI.clientIdentity] }.sessionIDContext != s1)
        #expect(try server(keyFile: keyFile) { $0.allowedPeerIdentities = [] }.sessionIDContext != s1)
        #expect(try server(keyFile: keyFile) { $0.bindsGatewayIssuers = true }.sessionIDContext != s1)
        #expect(try pki.clientContext().sessionIDContext.isEmpty)
    }
}
