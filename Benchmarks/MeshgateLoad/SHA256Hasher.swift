import COpenSSL

/// Incremental SHA-256 through OpenSSL's EVP interface. Copies are independent (copy on write).
public struct SHA256Hasher {
    /// Owns one `EVP_MD_CTX`.
    private final class Context {
        let ctx: OpaquePointer

        init() {
            ctx = EVP_MD_CTX_new()!
            EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
        }

        init(copying other: Context) {
            ctx = EVP_MD_CTX_new()!
            EVP_MD_CTX_copy_ex(ctx, other.ctx)
        }

        deinit { EVP_MD_CTX_free(ctx) }
    }

    private var context = Context()
    private var digest: String?

    /// A hasher over no bytes yet.
    public init() {}

    /// Adds `b` to the hashed bytes. Bytes added after `finalize()` are ignored.
    public mutating func update(_ b: UnsafeRawBufferPointer) {
        guard digest == nil, b.count > 0 else { return }
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        EVP_DigestUpdate(context.ctx, b.baseAddress, b.count)
    }

    /// Adds the bytes of `bytes`.
    public mutating func update<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 {
        let array = Array(bytes)
        array.withUnsafeBytes { update($0) }
    }

    /// The digest as 64 lowercase hex characters. Calling it again returns the same value.
    public mutating func finalize() -> String {
        if let digest { return digest }
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context.ctx, &out, &length)
        let hex = Self.hex(out.prefix(Int(length)))
        digest = hex
        return hex
    }

    /// The SHA-256 of `bytes` as hex.
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var h = SHA256Hasher()
        h.update(bytes: bytes)
        return h.finalize()
    }

    /// Lowercase hex of `bytes`.
    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var chars: [UInt8] = []
        for b in bytes {
            chars.append(digits[Int(b >> 4)])
            chars.append(digits[Int(b & 15)])
        }
        return String(decoding: chars, as: UTF8.self)
    }
}
