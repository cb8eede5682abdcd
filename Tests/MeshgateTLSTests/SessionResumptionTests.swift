import MeshgateNames
import Testing

@testable import MeshgateTLS

@Suite("Session resumption with tickets")
struct SessionResumptionTests {
    let pki = TestPKI.shared

    @Test("the second connection resumes from a cached ticket and keeps the peer identity")
    func resumes() throws {
        let cache = TLSSessionCache()
        let client = try pki.clientContext { $0.sessionCache = cache }
        let server = try pki.serverContext()
        try BackToBack.primeCache(client: client, server: server)
        #expect(cache.count(for: TestPKI.serverIdentity.spiffeURI) == 2)

        let (c, s) = try BackToBack.connect(client: client, server: server)
        #expect(c.handshake() == .complete && s.handshake() == .complete)
        #expect(c.isSessionReused && s.isSessionReused)
        #expect(c.peerIdentity == TestPKI.serverIdentity)
        #expect(s.peerIdentity == TestPKI.clientIdentity)
        #expect(c.writePlaintext(Array("resumed".utf8)) == .written(7))
        BackToBack.transfer(c, to: s)
        #expect(BackToBack.readAll(s).bytes == Array("resumed".utf8))
    }

    @Test("a used ticket stays in the cache and the server's ticket count is configurable")
    func ticketAccounting() throws {
        let bed = try ResumptionBed(pki, ticketCount: 1)
        try bed.prime()
        let key = TestPKI.serverIdentity.spiffeURI
        #expect(bed.cache.count(for: key) == 1)
        let (c, _) = try bed.connect()
        #expect(c.isSessionReused)
        #expect(bed.cache.count(for: key) == 1)
        bed.cache.removeAll()
        #expect(bed.cache.count(for: key) == 0)
    }

    @Test("the ticket of a connection dropped without close_notify is still used")
    func abandonedConnection() throws {
        let bed = try ResumptionBed(pki, ticketCount: 1)
        do {
            let (c, _) = try bed.connect()
            _ = BackToBack.readAll(c)
        }
        #expect(bed.cache.count(for: TestPKI.serverIdentity.spiffeURI) == 1)
        let (c, _) = try bed.connect()
        #expect(c.handshake() == .complete)
        #expect(c.isSessionReused)
    }

    @Test("without a cache nothing is resumed")
    func noCache() throws {
        let client = try pki.clientContext()
        let server = try pki.serverContext()
        try BackToBack.primeCache(client: client, server: server)
        let (c, _) = try BackToBack.connect(client: client, server: server)
        #expect(c.handshake() == .complete)
        #expect(!c.isSessionReused)
    }

    @Test("a resumed session is still held to the expected identity")
    func resumedSessionIdentityChecked() throws {
        let cache = TLSSessionCache()
        let client = try pki.clientContext { $0.sessionCache = cache }
        let server = try pki.serverContext()
        try BackToBack.primeCache(client: client, server: server, key: "link-east")
        let other = WorkloadIdentity(trustDomain: "cluster.local", namespace: "meshgate", serviceAccount: "impostor")!
        let (c, _) = try BackToBack.connect(client: client, server: server, expecting: other, sessionCacheKey: "link-east")
        guard case .failed(let error) = c.handshake() else {
            Issue.record("resumption must not bypass the identity check")
            return
        }
        #expect(c.isSessionReused)
        #expect(error.code == .peerIdentityMismatch)
    }
}
