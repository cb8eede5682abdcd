import MeshgateWire
import Testing

@Suite struct RoundTripTests {
    @Test func probeHasTheDocumentedBytes() throws {
        let bytes = try TransportHeader.probe(nonce: 0x0102_0304_0506_0708).encoded()
        #expect(bytes == [0x4D, 0x47, 0x57, 0x48, 1, 3, 0, 11, 6, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8])
    }

    @Test func connectHasTheDocumentedBytes() throws {
        let header = TransportHeader.connect(
            ConnectTarget(namespace: "default", name: "redis", port: 6379), clientIdentity: "spiffe://a/b")
        let expected: [UInt8] = Array("MGWH".utf8) + [1, 1, 0, 38]
            + [1, 0, 7] + Array("default".utf8)
            + [2, 0, 5] + Array("redis".utf8)
            + [3, 0, 2, 0x18, 0xEB]
            + [4, 0, 12] + Array("spiffe://a/b".utf8)
        #expect(try header.encoded() == expected)
        #expect(TransportHeader.decode(expected) == .complete(header, consumed: expected.count))
        #expect(header.kind == .connect)
    }

    @Test func pooledHasTheDocumentedBytesAndLeavesTheNextHeader() throws {
        let bytes = try TransportHeader.pooled.encoded()
        #expect(bytes == [0x4D, 0x47, 0x57, 0x48, 1, 4, 0, 0])
        // The connect header that follows on the same stream is not part of it.
        let next = try TransportHeader.connect(ConnectTarget(namespace: "a", name: "b", port: 1), clientIdentity: nil).encoded()
        #expect(TransportHeader.decode(bytes + next) == .complete(.pooled, consumed: 8))
        #expect(TransportHeader.decode(Array(bytes.prefix(7))) == .needMoreBytes)
        // A field in a pooled header is a known tag of another kind.
        #expect(TransportHeader.decode(Array("MGWH".utf8) + [1, 4, 0, 11, 6, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1]) == .invalid(.unexpectedField("nonce")))
    }

    @Test func discoverRoundTrips() throws {
        let header = TransportHeader.discover(cluster: "eu-west-1")
        let bytes = try header.encoded()
        #expect(bytes[5] == TransportHeaderKind.discover.rawValue)
        #expect(TransportHeader.decode(bytes) == .complete(header, consumed: 8 + 3 + 9))
    }

    @Test func largestConnectFitsTheLimit() throws {
        let header = TransportHeader.connect(
            ConnectTarget(namespace: String(repeating: "n", count: 63), name: String(repeating: "a", count: 63), port: 65535),
            clientIdentity: String(repeating: "~", count: 512))
        let bytes = try header.encoded()
        #expect(bytes.count == 8 + 4 * 3 + 63 + 63 + 2 + 512)
        #expect(bytes.count <= TransportHeader.maxEncodedSize)
        #expect(TransportHeader.decode(bytes) == .complete(header, consumed: bytes.count))
    }

    @Test func encodeIntoAppendsAfterExistingBytes() throws {
        var buffer: [UInt8] = [0xAA, 0xBB]
        try TransportHeader.probe(nonce: 7).encode(into: &buffer)
        #expect(Array(buffer.prefix(2)) == [0xAA, 0xBB])
        #expect(Array(buffer.dropFirst(2)) == (try TransportHeader.probe(nonce: 7).encoded()))
    }

    @Test func fieldsInAnyOrderDecode() {
        let bytes = RawHeader(kind: 1, [u16(3, 443), text(4, "dns:web.example"), text(2, "web"), text(1, "shop")]).bytes
        let expected = TransportHeader.connect(ConnectTarget(namespace: "shop", name: "web", port: 443), clientIdentity: "dns:web.example")
        #expect(TransportHeader.decode(bytes) == .complete(expected, consumed: bytes.count))
    }

    @Test func payloadAfterTheHeaderIsNotConsumed() throws {
        let header = TransportHeader.probe(nonce: 99)
        let bytes = try header.encoded()
        let withPayload = bytes + Array("GET / HTTP/1.1\r\n".utf8)
        #expect(TransportHeader.decode(withPayload) == .complete(header, consumed: bytes.count))
    }

    /// 10,000 random valid headers: each round-trips, every proper prefix needs more bytes, and
    /// trailing payload is left alone.
    @Test func randomHeadersRoundTripThroughEveryTruncation() throws {
        var generator = HeaderGenerator(seed: 0x5EED_0001)
        var failures: [String] = []
        var prefixesChecked = 0
        var kinds: [TransportHeaderKind: Int] = [:]
        for _ in 0..<10_000 {
            let header = generator.header()
            kinds[header.kind, default: 0] += 1
            let bytes = try header.encoded()
            let complete = TransportHeaderDecoding.complete(header, consumed: bytes.count)
            if TransportHeader.decode(bytes) != complete { failures.append("round trip \(header)") }
            for length in 0..<bytes.count where decodePrefix(bytes, length) != .needMoreBytes {
                failures.append("prefix \(length) of \(header): \(decodePrefix(bytes, length))")
            }
            prefixesChecked += bytes.count
            let payload = generator.bytes(count: Int.random(in: 1...32, using: &generator.rng))
            if TransportHeader.decode(bytes + payload) != complete { failures.append("with payload \(header)") }
            if failures.count >= 3 { break }
        }
        #expect(failures.isEmpty, "\(failures)")
        #expect(prefixesChecked > 10_000 * 8)
        #expect(kinds.count == 4, "connect, discover, probe and pooled")
    }
}
