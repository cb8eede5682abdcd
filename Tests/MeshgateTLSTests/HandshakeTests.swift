import Testing

@testable import MeshgateTLS

@Suite("Handshake and data, back to back in memory")
struct HandshakeTests {
    let pki = TestPKI.shared

    /// A client and a server of the shared test PKI, handshake done.
    func connected() throws -> (client: TLSConnection, server: TLSConnection) {
        try BackToBack.connect(client: pki.clientContext(), server: pki.serverContext())
    }

    /// Writes `bytes` on `sender` (all of them taken), moves the records to `receiver`, ends its
    /// input there when `thenEOF`, and reads all the plaintext that arrived.
    func deliver(
        _ bytes: [UInt8], from sender: TLSConnection, to receiver: TLSConnection, thenEOF: Bool = false
    ) -> (bytes: [UInt8], end: TLSReadResult) {
        #expect(sender.writePlaintext(bytes) == .written(bytes.count))
        BackToBack.transfer(sender, to: receiver)
        if thenEOF { receiver.receiveEOF() }
        return BackToBack.readAll(receiver)
    }

    @Test("mutual TLS 1.3 handshake completes with ALPN meshgate/1 and both identities")
    func handshakeCompletes() throws {
        let (client, server) = try connected()
        #expect(client.handshake() == .complete)
        #expect(server.handshake() == .complete)
        #expect(client.isHandshakeComplete && server.isHandshakeComplete)
        #expect(client.negotiatedApplicationProtocol == "meshgate/1")
        #expect(server.negotiatedApplicationProtocol == "meshgate/1")
        #expect(client.peerIdentity == TestPKI.serverIdentity)
        #expect(server.peerIdentity == TestPKI.clientIdentity)
        #expect(client.cipherSuite == "TLS_AES_128_GCM_SHA256")
        #expect(!client.isSessionReused)
    }

    @Test("the handshake is incomplete until the peer's flight arrives")
    func handshakeNeedsInput() throws {
        let client = try TLSConnection(context: pki.clientContext(), expectedPeerIdentity: TestPKI.serverIdentity)
        #expect(client.handshake() == .inProgress)
        #expect(!client.isHandshakeComplete)
        #expect(client.pendingOutboundCount > 0)  // the ClientHello
        #expect(client.handshake() == .inProgress)
    }

    @Test("plaintext flows both ways, including more than one record")
    func dataBothWays() throws {
        let (client, server) = try connected()
        let ping = deliver(Array("ping".utf8), from: client, to: server)
        #expect(ping.bytes == Array("ping".utf8))
        #expect(ping.end == .needMoreInput)

        let big = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let received = deliver(big, from: server, to: client)
        #expect(received.bytes == big)
        #expect(received.end == .needMoreInput)
    }

    @Test("close_notify each way is a clean end, and half-close keeps the other direction open")
    func closeNotifyBothWays() throws {
        let (client, server) = try connected()
        #expect(client.shutdown() == .closeNotifySent)
        guard case .failed(let late) = client.writePlaintext(Array("late".utf8)) else {
            Issue.record("a write after close_notify must fail")
            return
        }
        #expect(late.code == .closed)
        BackToBack.transfer(client, to: server)
        #expect(BackToBack.readAll(server).end == .closeNotify)
        #expect(server.receivedCloseNotify)

        #expect(server.writePlaintext(Array("after half-close".utf8)) == .written(16))
        #expect(server.shutdown() == .complete)
        BackToBack.transfer(server, to: client)
        server.receiveEOF()
        let rest = BackToBack.readAll(client)
        #expect(rest.bytes == Array("after half-close".utf8))
        #expect(rest.end == .closeNotify)
        client.receiveEOF()
        #expect(BackToBack.readAll(client).end == .closeNotify)  // EOF after close_notify stays clean
        #expect(client.shutdown() == .complete)
    }

    @Test("end of stream without close_notify is reported as truncation")
    func truncation() throws {
        let (client, server) = try connected()
        let read = deliver(Array("partial".utf8), from: client, to: server, thenEOF: true)
        #expect(read.bytes == Array("partial".utf8))
        #expect(read.end == .truncated)
        #expect(server.failure?.code == .truncated)
    }

    @Test("a stream cut inside a record is truncation too")
    func truncationMidRecord() throws {
        let (client, server) = try connected()
        #expect(client.writePlaintext(Array("cut".utf8)) == .written(3))
        let record = client.takeOutbound()
        server.receive(Array(record.prefix(record.count - 4)))
        #expect(BackToBack.readAll(server).end == .needMoreInput)
        server.receiveEOF()
        #expect(BackToBack.readAll(server).end == .truncated)
    }
}
