/// What the kernel needs to take over a TLS 1.3 connection: per direction the AES-GCM key, the
/// 12-byte IV split into salt and explicit part, and the next record sequence number.
///
/// Serialize with ``cryptoInfo(_:)`` for `setsockopt(SOL_TLS, TLS_TX | TLS_RX)`.
public struct KTLSKeys: Hashable, Sendable {
    /// The record cipher, with the kernel's `TLS_CIPHER_*` number.
    public enum Cipher: UInt16, Hashable, Sendable {
        /// TLS_AES_128_GCM_SHA256 (`TLS_CIPHER_AES_GCM_128`).
        case aes128GCM = 51
        /// TLS_AES_256_GCM_SHA384 (`TLS_CIPHER_AES_GCM_256`).
        case aes256GCM = 52

        /// Key length in bytes.
        public var keyLength: Int { self == .aes128GCM ? 16 : 32 }
        /// Length of the kernel's `struct tls12_crypto_info_aes_gcm_*`.
        public var cryptoInfoLength: Int { 4 + 8 + keyLength + 4 + 8 }
    }

    /// Which way the keys protect.
    public enum Direction: Hashable, Sendable {
        /// What this side writes (`TLS_TX`).
        case tx
        /// What this side reads (`TLS_RX`).
        case rx
    }

    /// Keys of one direction.
    public struct TrafficKeys: Hashable, Sendable {
        /// The AEAD key (16 or 32 bytes).
        public let key: [UInt8]
        /// The first 4 bytes of the 12-byte IV.
        public let salt: [UInt8]
        /// The last 8 bytes of the 12-byte IV.
        public let iv: [UInt8]
        /// The sequence number of the next record in this direction.
        public let recordSequence: UInt64

        /// Splits a 12-byte TLS 1.3 IV into salt and explicit part.
        public init(key: [UInt8], fullIV: [UInt8], recordSequence: UInt64) {
            precondition(fullIV.count == 12, "a TLS 1.3 AES-GCM IV has 12 bytes")
            self.key = key
            self.salt = Array(fullIV[0..<4])
            self.iv = Array(fullIV[4..<12])
            self.recordSequence = recordSequence
        }

        /// The 12-byte IV.
        public var fullIV: [UInt8] { salt + iv }
    }

    /// `TLS_1_3_VERSION` as the kernel spells it.
    public static let tls13Version: UInt16 = 0x0304

    /// The protocol version field (0x0304).
    public let version: UInt16
    /// The negotiated cipher.
    public let cipher: Cipher
    /// Keys for what this side sends.
    public let tx: TrafficKeys
    /// Keys for what this side receives.
    public let rx: TrafficKeys

    /// Bundles TLS 1.3 keys.
    public init(cipher: Cipher, tx: TrafficKeys, rx: TrafficKeys) {
        self.version = Self.tls13Version
        self.cipher = cipher
        self.tx = tx
        self.rx = rx
    }

    /// The exact bytes of `struct tls12_crypto_info_aes_gcm_128` (40 bytes) or `_256` (56):
    /// `{u16 version, u16 cipher_type}` in host byte order, iv[8], key, salt[4], rec_seq[8]
    /// big-endian.
    public func cryptoInfo(_ direction: Direction) -> [UInt8] {
        let keys = direction == .tx ? tx : rx
        var bytes: [UInt8] = []
        bytes.reserveCapacity(cipher.cryptoInfoLength)
        withUnsafeBytes(of: version) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: cipher.rawValue) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: keys.iv)
        bytes.append(contentsOf: keys.key)
        bytes.append(contentsOf: keys.salt)
        withUnsafeBytes(of: keys.recordSequence.bigEndian) { bytes.append(contentsOf: $0) }
        precondition(bytes.count == cipher.cryptoInfoLength)
        return bytes
    }
}
