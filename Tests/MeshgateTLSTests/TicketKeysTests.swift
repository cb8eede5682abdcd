import Foundation
import Testing

@testable import MeshgateTLS

@Suite("Session ticket keys: key files, sharing and rotation")
struct TicketKeysTests {
    let pki = TestPKI.shared
    let key = TestPKI.serverIdentity.spiffeURI

    @Test("a key file: comments and blank lines skipped, the first key encrypts, all decrypt")
    func readsKeyFile() throws {
        let keys = [TLSTicketKey.random(), .random()]
        let text = "# replicas share this\n\n  \(TLSTicketKeys.keyFileLine(keys[0]))  \r\n# older\n\(TLSTicketKeys.keyFileLine(keys[1]))\n"
        let parsed = try TLSTicketKeys.parseKeyFile(text, path: "keys")
        #expect(parsed == keys)
        let ring = try TLSTicketKeys(contentsOfFile: pki.writeTicketKeyFile(keys))
        #expect(ring.keyNames == keys.map(\.name))
        #expect(ring.encryptionKey() == keys[0])
    }

    @Test(
        "a bad key file is refused naming the file and line",
        arguments: [
            ("# only a comment\n", "keys: holds no session ticket key"),
            ("# first\nnot base64!\n", "keys:2: not a base64 session ticket key"),
            (
                "\(Data(count: 48).base64EncodedString())\n",
                "keys:1: a session ticket key is 80 bytes (name 16 | HMAC 32 | AES 32), this one 48"
            ),
        ])
    func refusesBadFile(text: String, message: String) {
        #expect(throws: TLSError.self) { try TLSTicketKeys.parseKeyFile(text, path: "keys") }
        do {
            _ = try TLSTicketKeys.parseKeyFile(text, path: "keys")
        } catch {
            #expect(error.code == .invalidConfiguration && error.message.hasPrefix(message), "\(error)")
        }
    }

    @Test("two keys of one name are refused naming both lines; a missing file names the file")
    func refusesDuplicatesAndMissingFile() throws {
        let line = TLSTicketKeys.keyFileLine(.random())
        do {
            _ = try TLSTicketKeys.parseKeyFile("\(line)\n\(line)\n", path: "keys")
            Issue.record("a duplicate key name was accepted")
        } catch {
            #expect(error.message.hasPrefix("keys:2: the key name") && error.message.hasSuffix("is already used on line 1"), "\(error)")
        }
        let missing = pki.path("no-such-ticket-keys")
        do {
            _ = try TLSTicketKeys(contentsOfFile: missing)
            Issue.record("a missing key file was accepted")
        } catch {
            #expect(error.code == .fileUnreadable && error.message.contains(missing), "\(error)")
        }
    }

    @Test("a key file shared by two server contexts: a ticket from one resumes on the other")
    func sharedKeyFile() throws {
        let file = try pki.writeTicketKeyFile([.random()])
        let (keysA, keysB) = (try TLSTicketKeys(contentsOfFile: file), try TLSTicketKeys(contentsOfFile: file))
        let bed = try ResumptionBed(pki) { $0.ticketKeys = keysA }
        try bed.prime()
        let (c, s) = try bed.connect(to: pki.serverContext { $0.ticketKeys = keysB })
        #expect(c.handshake() == .complete && c.isSessionReused && s.isSessionReused)
        #expect(!s.presentedTicketUnderOlderKey)
    }

    @Test("servers with keys of their own do not resume each other's tickets")
    func separateKeys() throws {
        let bed = try ResumptionBed(pki) { $0.ticketKeys = .generated() }
        try bed.prime()
        let (c, s) = try bed.connect(to: pki.serverContext { $0.ticketKeys = .generated() })
        #expect(c.handshake() == .complete && s.handshake() == .complete)
        #expect(!c.isSessionReused && !s.isSessionReused)
    }

    @Test("a ticket under a key file's older key is accepted and marked for renewal")
    func olderKeyOfFile() throws {
        let old = TLSTicketKey.random()
        let (before, after) = (
            try TLSTicketKeys(keys: [old], origin: "before"), try TLSTicketKeys(keys: [.random(), old], origin: "after")
        )
        let bed = try ResumptionBed(pki) { $0.ticketKeys = before }
        try bed.prime()
        let (c, s) = try bed.connect(to: pki.serverContext { $0.ticketKeys = after })
        #expect(c.handshake() == .complete && c.isSessionReused && s.isSessionReused)
        #expect(s.presentedTicketUnderOlderKey)
    }

    @Test("rotation: a ticket of the replaced key resumes within the retention, not after the key is dropped")
    func rotation() throws {
        let clock = ManualClock()
        let ring = TLSTicketKeys.generated(rotation: .seconds(100), retention: .seconds(50), clock: clock.read)
        let bed = try ResumptionBed(pki, ticketCount: 1) { $0.ticketKeys = ring }
        try bed.prime()
        // The same ticket in a second cache, for the attempt after the key is dropped.
        let laterCache = TLSSessionCache()
        laterCache.store(try #require(bed.cache.take(for: key)), for: key)
        let laterClient = try pki.clientContext { $0.sessionCache = laterCache }
        let issuedUnder = ring.keyNames

        clock.advance(by: .seconds(100))
        #expect(ring.keyNames.count == 2 && ring.keyNames.last == issuedUnder.first)
        let (c, s) = try bed.connect()
        #expect(c.handshake() == .complete && c.isSessionReused && s.isSessionReused)
        #expect(s.presentedTicketUnderOlderKey)

        clock.advance(by: .seconds(50))
        #expect(ring.keyNames.count == 1 && ring.keyNames != issuedUnder)
        let (c2, s2) = try BackToBack.connect(client: laterClient, server: bed.server)
        #expect(c2.handshake() == .complete && s2.handshake() == .complete)
        #expect(!c2.isSessionReused && !s2.isSessionReused)
        #expect(c2.peerIdentity == TestPKI.serverIdentity)
    }
}
