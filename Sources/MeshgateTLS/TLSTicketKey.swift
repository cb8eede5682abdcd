import COpenSSL

/// One session ticket key: a 16-byte name (sent in the clear in each ticket, so a server knows
/// which key to decrypt it with), an HMAC-SHA256 key that authenticates the ticket and an
/// AES-256 key that encrypts it (CBC, a fresh random IV per ticket).
public struct TLSTicketKey: Hashable, Sendable {
    /// Bytes of the name.
    public static let nameLength = 16
    /// Bytes of the HMAC-SHA256 key.
    public static let hmacKeyLength = 32
    /// Bytes of the AES-256 key.
    public static let aesKeyLength = 32
    /// Bytes of the whole key as a key file writes it: name | HMAC key | AES key.
    public static let encodedLength = nameLength + hmacKeyLength + aesKeyLength

    /// The name tickets carry.
    public let name: [UInt8]
    /// The HMAC-SHA256 key.
    let hmacKey: [UInt8]
    /// The AES-256-CBC key.
    let aesKey: [UInt8]

    /// A key from its 80 encoded bytes (name | HMAC key | AES key); nil for another length.
    public init?(encoded bytes: [UInt8]) {
        guard bytes.count == Self.encodedLength else { return nil }
        name = Array(bytes[0..<Self.nameLength])
        hmacKey = Array(bytes[Self.nameLength..<Self.nameLength + Self.hmacKeyLength])
        aesKey = Array(bytes[(Self.nameLength + Self.hmacKeyLength)...])
    }

    /// The 80 encoded bytes (name | HMAC key | AES key).
    public var encoded: [UInt8] { name + hmacKey + aesKey }

    /// A key of random bytes from OpenSSL's CSPRNG.
    public static func random() -> TLSTicketKey {
        var bytes = [UInt8](repeating: 0, count: encodedLength)
        precondition(RAND_bytes(&bytes, Int32(bytes.count)) == 1, "RAND_bytes failed")
        return TLSTicketKey(encoded: bytes)!
    }

    /// The name in hexadecimal (logs and errors; never the secret parts).
    public var nameHex: String { name.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
