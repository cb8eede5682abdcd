import COpenSSL
import Testing

@testable import MeshgateTLS

/// The user-space record layer against OpenSSL's own, back to back in memory.
@Suite("user-space record layer")
struct RecordLayerTests {
    let pki = TestPKI.shared
    let crypter = try! TLSRecordCrypter()

    /// A handshaken pair; the server sends `tickets` tickets, which the client reads.
    private func pair(tickets: Int = 2, adjustServer: (inout TLSConfiguration) -> Void = { _ in }) throws
        -> (client: TLSConnection, server: TLSConnection)
    {
        let (client, server) = try BackToBack.connect(
            client: pki.clientContext(),
            server: pki.serverContext {
                $0.ticketsForKTLS = tickets
                adjustServer(&$0)
            }, forKTLS: true)
        #expect(BackToBack.readAll(client).end == .needMoreInput)
        #expect(client.sessionTicketsReceived == tickets)
        return (client, server)
    }

    /// Seals `bytes` as records with `layer`, as a byte stream.
    private func seal(_ bytes: [UInt8], _ layer: TLSRecordLayer) -> [UInt8] {
        var out: [UInt8] = []
        var offset = 0
        repeat {
            let n = min(TLSRecordLayer.maxPlaintext, bytes.count - offset)
            var record = [UInt8](repeating: 0, count: n + TLSRecordLayer.overhead)
            record.replaceSubrange(5..<(5 + n), with: bytes[offset..<(offset + n)])
            let length = record.withUnsafeMutableBytes { layer.seal($0.baseAddress!, plaintextLength: n, crypter: crypter) }
            #expect(length == record.count)
            out += record
            offset += n
        } while offset < bytes.count
        return out
    }

    /// Opens every record in `stream`; returns the data and the non-data outcomes.
    private func open(_ stream: [UInt8], _ layer: TLSRecordLayer) -> (data: [UInt8], others: [TLSRecordLayer.Opened]) {
        var stream = stream
        var data: [UInt8] = []
        var others: [TLSRecordLayer.Opened] = []
        var offset = 0
        while offset < stream.count {
            let length: Int
            switch stream.withUnsafeBytes({ TLSRecordLayer.recordLength(UnsafeRawBufferPointer(rebasing: $0[offset...])) }) {
            case .success(let n): length = n
            case .failure(let e): Issue.record("bad header: \(e)"); return (data, others)
            case nil: Issue.record("incomplete record"); return (data, others)
            }
            let opened = stream.withUnsafeMutableBytes { layer.open($0.baseAddress! + offset, length: length, crypter: crypter) }
            if case .data(let n) = opened { data += stream[(offset + 5)..<(offset + 5 + n)] } else { others.append(opened) }
            offset += length
        }
        return (data, others)
    }

    private func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }

    @Test("records sealed here are read by OpenSSL, and OpenSSL's records open here, after tickets")
    func interoperatesWithOpenSSL() throws {
        let (client, server) = try pair(tickets: 2)
        let serverLayer = try server.recordLayer()
        #expect(serverLayer.sequences == (tx: 2, rx: 0))
        let down = pattern(100_000)
        client.receive(seal(down, serverLayer))
        let read = BackToBack.readAll(client)
        #expect(read.bytes == down && read.end == .needMoreInput)

        let up = pattern(50_000).reversed() as [UInt8]
        #expect(client.writePlaintext(up) == .written(up.count))
        let opened = open(client.takeOutbound(), serverLayer)
        #expect(opened.data == up && opened.others.isEmpty)
        #expect(serverLayer.sequences.rx == 4)  // 50,000 bytes make 4 records
    }

    @Test("a client-side layer reads the server's records and writes ones the server reads")
    func clientSide() throws {
        let (client, server) = try pair(tickets: 1)
        let clientLayer = try client.recordLayer()
        #expect(clientLayer.sequences == (tx: 0, rx: 1))
        #expect(server.writePlaintext(Array("hello".utf8)) == .written(5))
        #expect(open(server.takeOutbound(), clientLayer).data == Array("hello".utf8))
        server.receive(seal(Array("world".utf8), clientLayer))
        #expect(BackToBack.readAll(server).bytes == Array("world".utf8))
    }

    @Test("close_notify both ways")
    func closeNotify() throws {
        let (client, server) = try pair()
        let layer = try server.recordLayer()
        var record = [UInt8](repeating: 0, count: 2 + TLSRecordLayer.overhead)
        let n = record.withUnsafeMutableBytes { layer.sealCloseNotify(at: $0.baseAddress!, crypter: crypter) }
        client.receive(Array(record[0..<n]))
        #expect(BackToBack.readAll(client).end == .closeNotify)
        #expect(client.shutdown() == .complete)
        #expect(open(client.takeOutbound(), layer).others == [.closeNotify])
    }

    @Test("the peer's KeyUpdate with update_requested is followed and answered")
    func keyUpdate() throws {
        let (client, server) = try pair()
        let layer = try server.recordLayer()
        #expect(SSL_key_update(client.ssl, SSL_KEY_UPDATE_REQUESTED) == 1)
        #expect(client.writePlaintext(Array("after update".utf8)) == .written(12))
        let opened = open(client.takeOutbound(), layer)
        #expect(opened.others == [.keyUpdated])
        #expect(opened.data == Array("after update".utf8))
        #expect(layer.keyUpdateRequested)

        var record = [UInt8](repeating: 0, count: 5 + TLSRecordLayer.overhead)
        let n = try record.withUnsafeMutableBytes { try layer.sealKeyUpdate(at: $0.baseAddress!, crypter: crypter) }
        #expect(!layer.keyUpdateRequested)
        client.receive(Array(record[0..<n]) + seal(Array("new key".utf8), layer))
        #expect(BackToBack.readAll(client).bytes == Array("new key".utf8))
        #expect(client.writePlaintext(Array("still fine".utf8)) == .written(10))
        #expect(open(client.takeOutbound(), layer).data == Array("still fine".utf8))
    }

    @Test("a tampered record, a wrong sequence and a bad header are refused, never returned as data")
    func refusesDamage() throws {
        let (client, server) = try pair()
        let layer = try server.recordLayer()
        #expect(client.writePlaintext(Array("payload".utf8)) == .written(7))
        var record = client.takeOutbound()
        record[8] ^= 0x40
        guard case .fatal = open(record, layer).others.first else {
            Issue.record("tampered record opened")
            return
        }
        // A record sealed for sequence 0 does not open at sequence 1.
        let (client2, server2) = try pair()
        let layer2 = try server2.recordLayer()
        #expect(client2.writePlaintext(Array("one".utf8)) == .written(3))
        #expect(client2.writePlaintext(Array("two".utf8)) == .written(3))
        let both = client2.takeOutbound()
        let second = Array(both[(both.count / 2)...])
        guard case .fatal = open(second, layer2).others.first else {
            Issue.record("a record opened at the wrong sequence")
            return
        }
        let header: [UInt8] = [22, 3, 1, 0, 40]
        let check = header.withUnsafeBytes { TLSRecordLayer.recordLength($0) }
        guard case .failure = check else {
            Issue.record("a handshake-type record header was accepted after the handshake")
            return
        }
    }

    @Test("AES-256-GCM / SHA-384, client side, against a server that prefers it")
    func aes256() throws {
        let (client, raw) = try BackToBack.connectAES256(pki)
        #expect(client.cipherSuite == "TLS_AES_256_GCM_SHA384")
        _ = BackToBack.readAll(client)  // the raw server's tickets
        let layer = try client.recordLayer()
        raw.write(pattern(40_000))
        #expect(open(raw.takeOutbound(), layer).data == pattern(40_000))
    }

    @Test("a client handed over to the record layer and dropped leaves its ticket resumable, marked handed over or not")
    func resumableAfterHandOver() throws {
        for markHandedOver in [true, false] {
            let cache = TLSSessionCache()
            let client = try pki.clientContext { $0.sessionCache = cache }
            let server = try pki.serverContext { $0.ticketsForKTLS = 1 }
            do {
                let c = try TLSConnection(context: client, expectedPeerIdentity: TestPKI.serverIdentity, forKTLS: true)
                let s = try TLSConnection(context: server, forKTLS: true)
                BackToBack.pump(c, s)
                #expect(BackToBack.readAll(c).end == .needMoreInput)
                #expect(c.sessionTicketsReceived == 1)
                _ = try c.recordLayer()
                if markHandedOver { c.markHandedOver() }
            }  // both dropped without close_notify, as the proxy drops them
            let (c2, _) = try BackToBack.connect(client: client, server: server, forKTLS: true)
            // The cache keeps its own copy of the ticket: how the connection ended cannot spoil it.
            #expect(c2.isSessionReused, "markHandedOver: \(markHandedOver)")
        }
    }
}
