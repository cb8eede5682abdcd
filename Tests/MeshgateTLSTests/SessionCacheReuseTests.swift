import COpenSSL
import Testing

@testable import MeshgateTLS

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Session cache: reusable tickets")
struct SessionCacheReuseTests {
    let pki = TestPKI.shared
    let key = TestPKI.serverIdentity.spiffeURI

    /// A resumable session with the one-byte id `id`, issued at `issued` for `lifetime` seconds;
    /// the caller owns its reference (``TLSSessionCache/store(_:for:)`` takes it over).
    private func session(_ id: UInt8, issued: Int, lifetime: Int = 100) -> OpaquePointer {
        let s = SSL_SESSION_new()!
        precondition(SSL_SESSION_set1_id(s, [id], 1) == 1)
        _ = SSL_SESSION_set_time(s, time_t(issued))
        _ = SSL_SESSION_set_timeout(s, lifetime)
        return s
    }

    /// The id byte of the session `take` hands out (nil: none), releasing the copy.
    private func takeID(_ cache: TLSSessionCache, now: Int) -> UInt8? {
        guard let copy = cache.take(for: key, now: now) else { return nil }
        defer { SSL_SESSION_free(copy) }
        var length: UInt32 = 0
        guard let id = SSL_SESSION_get_id(copy, &length), length == 1 else { return nil }
        return id[0]
    }

    @Test("take hands out copies of the newest ticket and keeps it; a newer ticket takes over")
    func newestServesAgain() {
        let cache = TLSSessionCache(ticketsPerPeer: 2)
        cache.store(session(1, issued: 1000), for: key)
        #expect(takeID(cache, now: 1010) == 1)
        #expect(takeID(cache, now: 1010) == 1)
        #expect(cache.count(for: key) == 1)
        cache.store(session(2, issued: 1020), for: key)
        cache.store(session(3, issued: 1030), for: key)
        #expect(cache.count(for: key) == 2)  // ticketsPerPeer: the oldest went
        #expect(takeID(cache, now: 1040) == 3)
        #expect(takeID(cache, now: 1040) == 3)
    }

    @Test("an expired ticket is dropped and an older unexpired one serves; remove and removeAll forget")
    func expiryAndRemoval() {
        let cache = TLSSessionCache()
        cache.store(session(1, issued: 1000, lifetime: 500), for: key)
        cache.store(session(2, issued: 1100, lifetime: 100), for: key)
        #expect(takeID(cache, now: 1250) == 1)
        #expect(cache.count(for: key) == 1)
        #expect(takeID(cache, now: 1600) == nil)
        #expect(cache.count(for: key) == 0)
        cache.store(session(3, issued: 2000), for: key)
        cache.store(session(4, issued: 2000), for: "other")
        cache.remove(key)
        #expect(takeID(cache, now: 2001) == nil && cache.count(for: "other") == 1)
        cache.removeAll()
        #expect(cache.count(for: "other") == 0)
    }

    @Test("maxUses bounds the connections one ticket starts")
    func maxUses() {
        let cache = TLSSessionCache(maxUses: 2)
        cache.store(session(1, issued: 1000), for: key)
        #expect(takeID(cache, now: 1001) == 1)
        #expect(takeID(cache, now: 1001) == 1)
        #expect(takeID(cache, now: 1001) == nil)
        #expect(cache.count(for: key) == 0)
    }

    @Test("one ticket resumes 3 connections, each with its own (EC)DHE exchange (psk_dhe_ke)")
    func threeResumptions() throws {
        let bed = try ResumptionBed(pki, ticketCount: 1)
        try bed.prime()
        #expect(bed.cache.count(for: key) == 1)
        for round in 1...3 {
            let (c, s) = try bed.connect()
            #expect(c.handshake() == .complete && s.handshake() == .complete, "round \(round)")
            #expect(c.isSessionReused && s.isSessionReused, "round \(round)")
            #expect(c.peerIdentity == TestPKI.serverIdentity && s.peerIdentity == TestPKI.clientIdentity)
            #expect(c.keyExchangeGroup == "X25519" && s.keyExchangeGroup == "X25519", "round \(round)")
        }
        #expect(bed.cache.count(for: key) == 1)
    }

    @Test("a full handshake names its key-exchange group too")
    func fullHandshakeGroup() throws {
        let (c, s) = try BackToBack.connect(client: pki.clientContext(), server: pki.serverContext())
        #expect(c.handshake() == .complete && !c.isSessionReused)
        #expect(c.keyExchangeGroup == "X25519" && s.keyExchangeGroup == "X25519")
    }

    @Test("a client whose resumed connection ended without close_notify can still resume")
    func droppedResumedConnection() throws {
        let bed = try ResumptionBed(pki, ticketCount: 1)
        try bed.prime()
        do {
            let (c, _) = try bed.connect()
            #expect(c.isSessionReused)
            #expect(c.writePlaintext(Array("x".utf8)) == .written(1))
        }  // dropped: OpenSSL marks this connection's session not resumable
        let (c, _) = try bed.connect()
        #expect(c.handshake() == .complete && c.isSessionReused)
    }
}
