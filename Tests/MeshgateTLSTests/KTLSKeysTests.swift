import COpenSSL
import Testing

@testable import MeshgateTLS

@Suite("kTLS key material")
struct KTLSKeysTests {
    let pki = TestPKI.shared

    private func kTLSPair(tickets: Int) throws -> (client: TLSConnection, server: TLSConnection) {
        let pair = try BackToBack.connect(
            client: pki.clientContext(), server: pki.serverContext { $0.ticketsForKTLS = tickets }, forKTLS: true)
        #expect(pair.client.handshake() == .complete && pair.server.handshake() == .complete)
        return pair
    }

    @Test("both sides derive mirror-image keys; with 2 tickets the server's TX sequence starts at 2")
    func keysMatchWithTickets() throws {
        let (client, server) = try kTLSPair(tickets: 2)
        #expect(BackToBack.readAll(client).end == .needMoreInput)  // consumes the 2 tickets
        let c = try client.ktlsKeys()
        let s = try server.ktlsKeys()
        #expect(c.version == 0x0304 && c.cipher == .aes128GCM && s.cipher == .aes128GCM)
        #expect(c.tx.key.count == 16 && c.tx.salt.count == 4 && c.tx.iv.count == 8)
        #expect(c.tx == s.rx)
        #expect(c.rx == s.tx)
        #expect(c.tx.key != c.rx.key)
        #expect(s.tx.recordSequence == 2 && s.rx.recordSequence == 0)
        #expect(c.rx.recordSequence == 2 && c.tx.recordSequence == 0)
    }

    @Test("with no tickets for kTLS (the default) the sequences start at 0 and count application records")
    func sequencesCountRecords() throws {
        let (client, server) = try kTLSPair(tickets: 0)
        #expect(try server.ktlsKeys().tx.recordSequence == 0)
        #expect(client.writePlaintext(Array("a".utf8)) == .written(1))
        #expect(client.writePlaintext([UInt8](repeating: 7, count: 40_000)) == .written(40_000))  // 3 records
        BackToBack.transfer(client, to: server)
        _ = BackToBack.readAll(server)
        #expect(server.isDrainedForKTLS)
        #expect(try client.ktlsKeys().tx.recordSequence == 4)
        #expect(try server.ktlsKeys().rx.recordSequence == 4)
        #expect(try server.ktlsKeys().tx.recordSequence == 0)
    }

    @Test("the derived keys and sequence decrypt the next record the peer writes")
    func keysDecryptNextRecord() throws {
        let (client, server) = try kTLSPair(tickets: 2)
        _ = BackToBack.readAll(client)
        let serverTX = try client.ktlsKeys().rx
        #expect(server.writePlaintext(Array("to the kernel".utf8)) == .written(13))
        let record = server.takeOutbound()
        #expect(RecordDecryptor.open(record, keys: serverTX, cipher: .aes128GCM) == Array("to the kernel".utf8))

        let clientTX = try server.ktlsKeys().rx
        #expect(client.writePlaintext(Array("and back".utf8)) == .written(8))
        #expect(RecordDecryptor.open(client.takeOutbound(), keys: clientTX, cipher: .aes128GCM) == Array("and back".utf8))
    }

    @Test("AES-256-GCM with SHA-384 keys decrypt a record of a server that prefers it")
    func aes256() throws {
        let (client, raw) = try BackToBack.connectAES256(pki)
        #expect(client.handshake() == .complete)
        #expect(client.cipherSuite == "TLS_AES_256_GCM_SHA384")
        _ = BackToBack.readAll(client)  // the raw server's tickets
        let keys = try client.ktlsKeys()
        #expect(keys.cipher == .aes256GCM && keys.rx.key.count == 32 && keys.rx.recordSequence == 2)
        raw.write(Array("wide keys".utf8))
        #expect(RecordDecryptor.open(raw.takeOutbound(), keys: keys.rx, cipher: .aes256GCM) == Array("wide keys".utf8))
    }

    @Test("keys are only available on connections made for kTLS, after the handshake")
    func unavailable() throws {
        let (client, _) = try BackToBack.connect(client: pki.clientContext(), server: pki.serverContext())
        #expect(throws: TLSError.self) { try client.ktlsKeys() }
        let fresh = try TLSConnection(context: pki.clientContext(), expectedPeerIdentity: TestPKI.serverIdentity, forKTLS: true)
        do {
            _ = try fresh.ktlsKeys()
            Issue.record("keys before the handshake")
        } catch {
            #expect(error.code == .keyMaterialUnavailable)
        }
    }

    @Test("the inbound record tracker reports a partial last record until it is complete")
    func partialRecord() throws {
        let (client, server) = try kTLSPair(tickets: 0)
        #expect(client.writePlaintext(Array("0123456789".utf8)) == .written(10))
        let record = client.takeOutbound()  // 5-byte header + 10 + 1 + 16
        #expect(record.count == 32)
        server.receive(Array(record[0..<3]))
        #expect(server.incompleteRecordShortfall == 2)
        server.receive(Array(record[3..<10]))
        #expect(server.incompleteRecordShortfall == 22)
        #expect(!server.isDrainedForKTLS)
        server.receive(Array(record[10...]))
        #expect(server.incompleteRecordShortfall == 0)
        #expect(server.unreadCiphertextCount == 32)
        let read = BackToBack.readAll(server)
        #expect(read.bytes == Array("0123456789".utf8))
        #expect(server.unreadCiphertextCount == 0 && server.bufferedPlaintextCount == 0 && server.isDrainedForKTLS)
    }

    @Test("HKDF-Expand-Label matches RFC 8448 §3")
    func hkdfKnownAnswers() throws {
        let serverHandshakeSecret = hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38")
        #expect(
            try HKDFExpandLabel.derive(secret: serverHandshakeSecret, label: "key", length: 16, digest: "SHA256")
                == hex("3fce516009c21727d0f2e4e86ee403bc"))
        #expect(
            try HKDFExpandLabel.derive(secret: serverHandshakeSecret, label: "iv", length: 12, digest: "SHA256")
                == hex("5d313eb2671276ee13000b30"))
        // Derive-Secret(early secret, "derived", "") = HKDF-Expand-Label(., "derived", SHA-256(""), 32).
        let earlySecret = hex("33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a")
        let emptyHash = hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            try HKDFExpandLabel.derive(secret: earlySecret, label: "derived", context: emptyHash, length: 32, digest: "SHA256")
                == hex("6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba"))
    }

    /// The bytes of the kernel's `T` (a `tls12_crypto_info_aes_gcm_*`, from zero) for one
    /// direction: TLS 1.3, `cipherType`, the IV's last 8 bytes, the key, the IV's first 4 bytes
    /// (the salt) and the record sequence big-endian, each copied into its C field.
    static func kernelCryptoInfo<T, IV, Key, Salt, Sequence>(
        _ zero: T, cipherType: UInt16,
        fields: (
            info: WritableKeyPath<T, tls_crypto_info>, iv: WritableKeyPath<T, IV>, key: WritableKeyPath<T, Key>,
            salt: WritableKeyPath<T, Salt>, sequence: WritableKeyPath<T, Sequence>
        ),
        key: [UInt8], fullIV: [UInt8], sequence: [UInt8]
    ) -> [UInt8] {
        var info = zero
        info[keyPath: fields.info].version = 0x0304
        info[keyPath: fields.info].cipher_type = cipherType
        withUnsafeMutableBytes(of: &info[keyPath: fields.iv]) { $0.copyBytes(from: fullIV.suffix(8)) }
        withUnsafeMutableBytes(of: &info[keyPath: fields.key]) { $0.copyBytes(from: key) }
        withUnsafeMutableBytes(of: &info[keyPath: fields.salt]) { $0.copyBytes(from: fullIV.prefix(4)) }
        withUnsafeMutableBytes(of: &info[keyPath: fields.sequence]) { $0.copyBytes(from: sequence) }
        return withUnsafeBytes(of: info) { Array($0) }
    }

    @Test("cryptoInfo is byte for byte the kernel's tls12_crypto_info_aes_gcm_128 / _256")
    func cryptoInfoLayout() {
        let keys128 = KTLSKeys(
            cipher: .aes128GCM,
            tx: .init(key: Array(1...16), fullIV: Array(101...112), recordSequence: 0x0102_0304_0506_0708),
            rx: .init(key: Array(17...32), fullIV: Array(113...124), recordSequence: 2))
        let info128 = Self.kernelCryptoInfo(
            tls12_crypto_info_aes_gcm_128(), cipherType: 51, fields: (\.info, \.iv, \.key, \.salt, \.rec_seq),
            key: Array(1...16), fullIV: Array(101...112), sequence: [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(info128.count == MemoryLayout<tls12_crypto_info_aes_gcm_128>.size)
        #expect(Array(info128[0..<4]) == [0x04, 0x03, 51, 0], "version 0x0304 and cipher 51, little-endian")
        #expect(Array(info128[4..<12]) == Array(105...112), "the IV's last 8 bytes")
        #expect(keys128.cryptoInfo(.tx) == info128)
        #expect(keys128.cryptoInfo(.rx).count == 40)
        #expect(keys128.cryptoInfo(.rx).suffix(8) == [0, 0, 0, 0, 0, 0, 0, 2])

        let keys256 = KTLSKeys(
            cipher: .aes256GCM, tx: .init(key: Array(1...32), fullIV: Array(101...112), recordSequence: 9),
            rx: .init(key: Array(33...64), fullIV: Array(113...124), recordSequence: 0))
        let info256 = Self.kernelCryptoInfo(
            tls12_crypto_info_aes_gcm_256(), cipherType: 52, fields: (\.info, \.iv, \.key, \.salt, \.rec_seq),
            key: Array(33...64), fullIV: Array(113...124), sequence: [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(keys256.cryptoInfo(.rx) == info256)
        #expect(keys256.cryptoInfo(.tx).count == 56)
    }
}

func hex(_ text: String) -> [UInt8] { [UInt8](hex: text)! }
