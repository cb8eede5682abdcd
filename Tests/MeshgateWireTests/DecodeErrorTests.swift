import MeshgateWire
import Testing

@Suite struct DecodeErrorTests {
    private func decode(_ raw: RawHeader) -> TransportHeaderDecoding { TransportHeader.decode(raw.bytes) }

    @Test func badMagicIsRefusedOnTheFirstByte() {
        #expect(TransportHeader.decode([0x16]) == .invalid(.badMagic))  // a TLS record, say
        #expect(TransportHeader.decode(Array("GET ".utf8)) == .invalid(.badMagic))
        #expect(TransportHeader.decode(Array("MGX".utf8)) == .invalid(.badMagic))
        #expect(TransportHeader.decode(Array("MGW".utf8)) == .needMoreBytes)
        #expect(TransportHeader.decode([]) == .needMoreBytes)
        var raw = RawHeader(kind: 3, [u64(6, 1)])
        raw.magic = Array("MGWh".utf8)
        #expect(decode(raw) == .invalid(.badMagic))
    }

    @Test func version2IsUnsupported() {
        #expect(TransportHeader.decode(Array("MGWH".utf8) + [2]) == .invalid(.unsupportedVersion))
        var raw = RawHeader(kind: 3, [u64(6, 1)])
        raw.version = 2
        #expect(decode(raw) == .invalid(.unsupportedVersion))
        raw.version = 0
        #expect(decode(raw) == .invalid(.unsupportedVersion))
    }

    @Test(arguments: [UInt8(0), 5, 9, 255])
    func unknownKindIsRefused(kind: UInt8) {
        #expect(TransportHeader.decode(Array("MGWH".utf8) + [1, kind]) == .invalid(.unknownKind))
    }

    @Test func tooLongIsRefusedAsSoonAsTheLengthIsRead() {
        let preamble = Array("MGWH".utf8) + [1, 1]
        // 8 + 1017 > 1024: refused with only the preamble in hand.
        #expect(TransportHeader.decode(preamble + [0x03, 0xF9]) == .invalid(.tooLong))
        #expect(TransportHeader.decode(preamble + [0xFF, 0xFF]) == .invalid(.tooLong))
        // 8 + 1016 == 1024: allowed, so wait for the body.
        #expect(TransportHeader.decode(preamble + [0x03, 0xF8]) == .needMoreBytes)
    }

    @Test func bodyOfExactlyTheLimitDecodes() {
        // connect + a skipped extension padding the header to exactly 1024 bytes.
        let used = 8 + 3 + 7 + 3 + 5 + 3 + 2 + 3
        let raw = RawHeader(kind: 1, connectFields + [(200, [UInt8](repeating: 0, count: 1024 - used))])
        #expect(raw.bytes.count == 1024)
        guard case .complete(_, let consumed) = decode(raw) else {
            Issue.record("expected complete, got \(decode(raw))")
            return
        }
        #expect(consumed == 1024)
    }

    @Test func missingFieldsAreNamed() {
        #expect(decode(RawHeader(kind: 1, [text(1, "default"), text(2, "redis")])) == .invalid(.missingField("port")))
        #expect(decode(RawHeader(kind: 1, [u16(3, 80)])) == .invalid(.missingField("namespace")))
        #expect(decode(RawHeader(kind: 2)) == .invalid(.missingField("cluster")))
        #expect(decode(RawHeader(kind: 3)) == .invalid(.missingField("nonce")))
    }

    @Test func duplicateFieldIsRefused() {
        #expect(decode(RawHeader(kind: 1, connectFields + [text(1, "other")])) == .invalid(.duplicateField))
        #expect(decode(RawHeader(kind: 3, [u64(6, 1), u64(6, 1)])) == .invalid(.duplicateField))
    }

    @Test func fieldOfAnotherKindIsRefused() {
        #expect(decode(RawHeader(kind: 1, connectFields + [u64(6, 1)])) == .invalid(.unexpectedField("nonce")))
        #expect(decode(RawHeader(kind: 2, [text(5, "east"), text(1, "default")])) == .invalid(.unexpectedField("namespace")))
        #expect(decode(RawHeader(kind: 3, [text(4, "spiffe://x")])) == .invalid(.unexpectedField("client_identity")))
    }

    @Test(arguments: ["Default", "-redis", "redis-", "re_dis", "re dis", "rédis", String(repeating: "a", count: 64), ""])
    func invalidLabelIsRefused(label: String) {
        let expected = TransportHeaderDecoding.invalid(.invalidField("name"))
        #expect(decode(RawHeader(kind: 1, [text(1, "default"), text(2, label), u16(3, 80)])) == expected)
    }

    @Test func invalidLabelByteIsRefusedBeforeTheValueIsComplete() {
        let bytes = RawHeader(kind: 2, [text(5, "east_coast")]).bytes
        #expect(decodePrefix(bytes, 8 + 3 + 4) == .needMoreBytes)
        #expect(decodePrefix(bytes, 8 + 3 + 5) == .invalid(.invalidField("cluster")))
    }

    @Test func portZeroAndWrongPortLengthAreInvalid() {
        #expect(decode(RawHeader(kind: 1, [text(1, "a"), text(2, "b"), u16(3, 0)])) == .invalid(.invalidField("port")))
        #expect(decode(RawHeader(kind: 1, [text(1, "a"), text(2, "b"), (3, [0, 0, 80])])) == .invalid(.invalidField("port")))
        #expect(decode(RawHeader(kind: 3, [(6, [1, 2, 3, 4])])) == .invalid(.invalidField("nonce")))
    }

    @Test(arguments: ["spiffe://a b", "dns:\tweb", "spiffe://x\u{7F}", "", "spiffe://é", String(repeating: "x", count: 513)])
    func invalidIdentityIsRefused(identity: String) {
        let raw = RawHeader(kind: 1, connectFields + [text(4, identity)])
        #expect(decode(raw) == .invalid(.invalidField("client_identity")))
    }

    @Test func unknownHighTagIsSkipped() {
        let raw = RawHeader(kind: 1, [text(1, "default"), (128, []), text(2, "redis"), (255, [1, 2, 3]), u16(3, 6379), (200, [9])])
        let expected = TransportHeader.connect(ConnectTarget(namespace: "default", name: "redis", port: 6379), clientIdentity: nil)
        #expect(decode(raw) == .complete(expected, consumed: raw.bytes.count))
        // Repeated extension tags are fine too: only known tags must be unique.
        let repeated = RawHeader(kind: 3, [(130, [1]), u64(6, 5), (130, [2])])
        #expect(decode(repeated) == .complete(.probe(nonce: 5), consumed: repeated.bytes.count))
    }

    @Test(arguments: [UInt8(0), 7, 42, 127])
    func unknownLowTagIsRefused(tag: UInt8) {
        #expect(decode(RawHeader(kind: 1, connectFields + [(tag, [1])])) == .invalid(.unknownField))
    }

    @Test func fieldRunningPastTheBodyIsTruncated() {
        // The value claims 9 bytes, the body holds 8.
        var raw = RawHeader(kind: 3, [u64(6, 1)])
        raw.bodyLength = 10
        #expect(TransportHeader.decode(raw.bytes + [0]) == .invalid(.truncatedField))
        // The body ends one or two bytes into a field header.
        for extra in 1...2 {
            var partial = RawHeader(kind: 3, [u64(6, 1)])
            partial.bodyLength = 11 + extra
            let bytes = partial.bytes + [UInt8](repeating: 200, count: extra)
            #expect(TransportHeader.decode(bytes) == .invalid(.truncatedField))
        }
    }

    @Test func truncatedFieldIsRefusedBeforeTheValueArrives() {
        // Body length 14, field says 100 bytes: known as soon as the field length is read.
        var raw = RawHeader(kind: 2, [(5, [UInt8](repeating: UInt8(ascii: "a"), count: 100))])
        raw.bodyLength = 14
        #expect(decodePrefix(raw.bytes, 8 + 3) == .invalid(.truncatedField))
    }
}
