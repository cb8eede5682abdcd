import COpenSSL

/// TLS 1.3 application records for one connection after its handshake, in place of OpenSSL's
/// record layer: what kernel TLS does, done in user space. The `SSL` object can then be freed,
/// so an established connection keeps a few hundred bytes of keys instead of OpenSSL's ~25 KiB.
///
/// Records are sealed and opened in place in the caller's buffer: a record is a 5-byte header,
/// the encrypted inner plaintext (content, then the content type byte) and a 16-byte tag.
/// Follows the peer's KeyUpdate (and answers one that asks for it, via ``sealKeyUpdate(at:crypter:)``).
///
/// Confined to one thread; the ``TLSRecordCrypter`` is that thread's.
public final class TLSRecordLayer {
    /// Bytes before a record's plaintext.
    public static let headerLength = 5
    /// Bytes a record adds to its plaintext: header, content type, tag.
    public static let overhead = 5 + 1 + 16
    /// Most plaintext in one record.
    public static let maxPlaintext = 16 * 1024
    /// Most ciphertext after the header that a peer may send (RFC 8446 §5.2).
    static let maxBody = 16 * 1024 + 256

    /// One direction's keys.
    struct Keys {
        var secret: [UInt8]
        var key: [UInt8]
        var iv: [UInt8]
        var sequence: UInt64
    }

    let cipher: KTLSKeys.Cipher
    let digest: String
    var tx: Keys
    var rx: Keys
    /// The peer asked for a KeyUpdate in return; send one with ``sealKeyUpdate(at:crypter:)``.
    public private(set) var keyUpdateRequested = false

    init(cipher: KTLSKeys.Cipher, digest: String, tx: Keys, rx: Keys) {
        self.cipher = cipher
        self.digest = digest
        self.tx = tx
        self.rx = rx
    }

    /// The next TX / RX record sequence numbers.
    public var sequences: (tx: UInt64, rx: UInt64) { (tx.sequence, rx.sequence) }

    /// Takes over reading at record `sequence` (OpenSSL read records, e.g. session tickets,
    /// after this layer was made for writing).
    public func continueReading(atSequence sequence: UInt64) { rx.sequence = sequence }

    // MARK: - Sealing

    /// Seals the `length` plaintext bytes at `record + 5` into one record of content `type` in
    /// place and returns the record's length (`length + overhead`). The buffer must hold
    /// `length + overhead` bytes from `record`; `length` ≤ ``maxPlaintext``.
    public func seal(
        _ record: UnsafeMutableRawPointer, plaintextLength length: Int, type: UInt8 = 23, crypter: TLSRecordCrypter
    ) -> Int {
        precondition(length <= Self.maxPlaintext)
        let body = length + 1 + 16
        record.storeBytes(of: 23, toByteOffset: 0, as: UInt8.self)  // outer type is always application_data
        record.storeBytes(of: 3, toByteOffset: 1, as: UInt8.self)
        record.storeBytes(of: 3, toByteOffset: 2, as: UInt8.self)
        record.storeBytes(of: UInt8(body >> 8), toByteOffset: 3, as: UInt8.self)
        record.storeBytes(of: UInt8(body & 0xFF), toByteOffset: 4, as: UInt8.self)
        record.storeBytes(of: type, toByteOffset: 5 + length, as: UInt8.self)
        crypter.seal(record, innerLength: length + 1, keys: tx, cipher: cipher)
        tx.sequence &+= 1
        return Self.headerLength + body
    }

    /// Writes close_notify at `record` (needs `2 + overhead` bytes); returns its length.
    public func sealCloseNotify(at record: UnsafeMutableRawPointer, crypter: TLSRecordCrypter) -> Int {
        record.storeBytes(of: 1, toByteOffset: 5, as: UInt8.self)  // level warning
        record.storeBytes(of: 0, toByteOffset: 6, as: UInt8.self)  // close_notify
        return seal(record, plaintextLength: 2, type: 21, crypter: crypter)
    }

    /// Answers the peer's KeyUpdate request: writes a KeyUpdate (update_not_requested) at
    /// `record` (needs `5 + overhead` bytes) under the current key, then moves TX to the next
    /// key. Returns the record's length.
    public func sealKeyUpdate(at record: UnsafeMutableRawPointer, crypter: TLSRecordCrypter) throws(TLSError) -> Int {
        let message: [UInt8] = [24, 0, 0, 1, 0]
        for (i, b) in message.enumerated() { record.storeBytes(of: b, toByteOffset: 5 + i, as: UInt8.self) }
        let length = seal(record, plaintextLength: message.count, type: 22, crypter: crypter)
        tx = try next(tx)
        keyUpdateRequested = false
        return length
    }

    // MARK: - Opening

    /// What one received record holds.
    public enum Opened: Equatable {
        /// Application data: this many plaintext bytes, now at the record's offset 5.
        case data(Int)
        /// The peer's close_notify: its stream ended cleanly.
        case closeNotify
        /// Nothing for the stream (a NewSessionTicket).
        case ignored
        /// The peer's KeyUpdate, followed: its later records open with the next key. Answer it
        /// when ``keyUpdateRequested``.
        case keyUpdated
        /// The connection is broken: bad record, fatal alert, unexpected message.
        case fatal(String)
    }

    /// The length of the complete record at the start of `bytes`, nil when more bytes are
    /// needed, or a failure for a header no TLS 1.3 peer sends.
    public static func recordLength(_ bytes: UnsafeRawBufferPointer) -> Result<Int, TLSError>? {
        guard bytes.count >= headerLength else { return nil }
        let body = Int(bytes[3]) << 8 | Int(bytes[4])
        guard bytes[0] == 23, bytes[1] == 3, body >= 17, body <= maxBody else {
            return .failure(TLSError(.protocolError, "unexpected record header \(bytes[0]) \(bytes[1]).\(bytes[2]) length \(body)"))
        }
        guard bytes.count >= headerLength + body else { return nil }
        return .success(headerLength + body)
    }

    /// Opens the complete record of `length` bytes at `record` in place (see ``recordLength(_:)``).
    public func open(_ record: UnsafeMutableRawPointer, length: Int, crypter: TLSRecordCrypter) -> Opened {
        let inner = length - Self.headerLength - 16
        guard crypter.open(record, innerLength: inner, keys: rx, cipher: cipher) else {
            return .fatal("bad record MAC (record \(rx.sequence))")
        }
        rx.sequence &+= 1
        // TLSInnerPlaintext: content, content type, zero padding.
        var end = Self.headerLength + inner
        while end > Self.headerLength && record.load(fromByteOffset: end - 1, as: UInt8.self) == 0 { end -= 1 }
        guard end > Self.headerLength else { return .fatal("record without a content type") }
        let type = record.load(fromByteOffset: end - 1, as: UInt8.self)
        let content = UnsafeRawBufferPointer(start: record + Self.headerLength, count: end - 1 - Self.headerLength)
        switch type {
        case 23:
            return .data(content.count)
        case 21:
            guard content.count == 2 else { return .fatal("malformed alert") }
            return content[1] == 0 ? .closeNotify : .fatal("peer sent alert \(content[1])")
        case 22:
            return handshakeMessages(content)
        default:
            return .fatal("record of content type \(type)")
        }
    }

    private func handshakeMessages(_ content: UnsafeRawBufferPointer) -> Opened {
        var offset = 0
        var updated = false
        while offset < content.count {
            guard offset + 4 <= content.count else { return .fatal("truncated handshake message") }
            let kind = content[offset]
            let length = Int(content[offset + 1]) << 16 | Int(content[offset + 2]) << 8 | Int(content[offset + 3])
            guard offset + 4 + length <= content.count else { return .fatal("truncated handshake message") }
            switch kind {
            case 4:  // NewSessionTicket: resumption is kept by the handshake engine only
                break
            case 24:  // KeyUpdate: the peer's later records use the next key
                guard length == 1, content[offset + 4] <= 1 else { return .fatal("malformed KeyUpdate") }
                if content[offset + 4] == 1 { keyUpdateRequested = true }
                do { rx = try next(rx) } catch { return .fatal("\(error)") }
                updated = true
            default:
                return .fatal("unexpected handshake message \(kind) after the handshake")
            }
            offset += 4 + length
        }
        return updated ? .keyUpdated : .ignored
    }

    // MARK: - Keys

    /// application_traffic_secret_N+1 and its key and IV (RFC 8446 §7.2).
    private func next(_ keys: Keys) throws(TLSError) -> Keys {
        let secret = try HKDFExpandLabel.derive(secret: keys.secret, label: "traffic upd", length: keys.secret.count, digest: digest)
        return try Self.keys(secret: secret, cipher: cipher, digest: digest, sequence: 0)
    }

    static func keys(secret: [UInt8], cipher: KTLSKeys.Cipher, digest: String, sequence: UInt64) throws(TLSError) -> Keys {
        Keys(
            secret: secret,
            key: try HKDFExpandLabel.derive(secret: secret, label: "key", length: cipher.keyLength, digest: digest),
            iv: try HKDFExpandLabel.derive(secret: secret, label: "iv", length: 12, digest: digest),
            sequence: sequence)
    }
}

@available(*, unavailable)
extension TLSRecordLayer: Sendable {}

/// One AES-GCM context that seals and opens records for every connection of a thread; keys are
/// set per record (cheap next to the cipher work), so connections hold no OpenSSL state.
public final class TLSRecordCrypter {
    private let context: OpaquePointer
    private let aes128: OpaquePointer
    private let aes256: OpaquePointer
    private var current: OpaquePointer?
    /// The key (and direction) the context holds now.
    private var lastKey: [UInt8] = []
    private var lastEncrypt = false

    /// A crypter; fails only when OpenSSL cannot provide AES-GCM.
    public init() throws(TLSError) {
        ERR_clear_error()
        guard let context = EVP_CIPHER_CTX_new(), let aes128 = EVP_CIPHER_fetch(nil, "AES-128-GCM", nil),
            let aes256 = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)
        else { throw TLSError(.internalError, "AES-GCM is not available", openSSLErrors: OpenSSLError.drainQueue()) }
        self.context = context
        self.aes128 = aes128
        self.aes256 = aes256
    }

    deinit {
        EVP_CIPHER_CTX_free(context)
        EVP_CIPHER_free(aes128)
        EVP_CIPHER_free(aes256)
    }

    /// Selects cipher, key and the record's nonce (IV xor sequence) for `encrypt`.
    private func start(keys: TLSRecordLayer.Keys, cipher: KTLSKeys.Cipher, encrypt: Bool) -> Bool {
        let evp = cipher == .aes128GCM ? aes128 : aes256
        // Passing the cipher again would make OpenSSL rebuild its context: only when it changes.
        let change = current != evp ? evp : nil
        current = evp
        // Consecutive records of one stream share a key: then only the nonce changes, and the
        // key schedule is not computed again.
        let sameKey = change == nil && encrypt == lastEncrypt && keys.key == lastKey
        if !sameKey {
            lastKey = keys.key
            lastEncrypt = encrypt
        }
        let ok = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 12) { nonce in
            for i in 0..<12 { nonce[i] = keys.iv[i] }
            for i in 0..<8 { nonce[4 + i] ^= UInt8(truncatingIfNeeded: keys.sequence >> (56 - 8 * UInt64(i))) }
            if sameKey { return EVP_CipherInit_ex2(context, nil, nil, nonce.baseAddress, encrypt ? 1 : 0, nil) == 1 }
            return keys.key.withUnsafeBufferPointer { key in
                EVP_CipherInit_ex2(context, change, key.baseAddress, nonce.baseAddress, encrypt ? 1 : 0, nil) == 1
            }
        }
        if !ok { lastKey = [] }
        return ok
    }

    /// Starts the cipher for one record and runs it in place: the 5-byte header as additional data,
    /// then the `innerLength` bytes after it (`moved` is what the last update wrote). False when
    /// OpenSSL refuses a step.
    private func run(
        _ record: UnsafeMutableRawPointer, innerLength: Int, keys: TLSRecordLayer.Keys, cipher: KTLSKeys.Cipher,
        encrypt: Bool, moved n: inout Int32
    ) -> Bool {
        let header = record.assumingMemoryBound(to: UInt8.self)
        let body = header + 5
        return start(keys: keys, cipher: cipher, encrypt: encrypt)
            && EVP_CipherUpdate(context, nil, &n, header, 5) == 1
            && EVP_CipherUpdate(context, body, &n, body, Int32(innerLength)) == 1
    }

    /// Encrypts `innerLength` bytes at `record + 5` in place and writes the tag after them.
    func seal(_ record: UnsafeMutableRawPointer, innerLength: Int, keys: TLSRecordLayer.Keys, cipher: KTLSKeys.Cipher) {
        let body = record.assumingMemoryBound(to: UInt8.self) + 5
        var n: Int32 = 0
        let ok =
            run(record, innerLength: innerLength, keys: keys, cipher: cipher, encrypt: true, moved: &n)
            && EVP_EncryptFinal_ex(context, body + Int(n), &n) == 1
            && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, 16, body + innerLength) == 1
        // AES-GCM encryption with a valid key cannot fail; if OpenSSL says otherwise, nothing is safe to send.
        precondition(ok, "AES-GCM seal failed")
    }

    /// Decrypts `innerLength` bytes at `record + 5` in place; false when the tag does not match.
    func open(_ record: UnsafeMutableRawPointer, innerLength: Int, keys: TLSRecordLayer.Keys, cipher: KTLSKeys.Cipher) -> Bool {
        guard innerLength > 0 else { return false }
        let body = record.assumingMemoryBound(to: UInt8.self) + 5
        var n: Int32 = 0
        // The error queue is left empty: a failure below is cleared right away.
        let ok =
            run(record, innerLength: innerLength, keys: keys, cipher: cipher, encrypt: false, moved: &n)
            && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, 16, body + innerLength) == 1
            && EVP_DecryptFinal_ex(context, body + Int(n), &n) == 1
        if !ok { ERR_clear_error() }
        return ok
    }
}

@available(*, unavailable)
extension TLSRecordCrypter: Sendable {}
