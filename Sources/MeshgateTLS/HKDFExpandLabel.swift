import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// TLS 1.3's HKDF-Expand-Label (RFC 8446 §7.1), through OpenSSL's "TLS13-KDF" in expand-only
/// mode with the "tls13 " prefix.
public enum HKDFExpandLabel {
    /// `HKDF-Expand-Label(secret, label, context, length)` with the digest named `digest`
    /// (e.g. "SHA256", "SHA384").
    public static func derive(
        secret: [UInt8], label: String, context: [UInt8] = [], length: Int, digest: String
    ) throws(TLSError) -> [UInt8] {
        ERR_clear_error()
        guard let kdf = tls13KDF.pointer else {
            throw TLSError(.internalError, "TLS13-KDF is not available", openSSLErrors: OpenSSLError.drainQueue())
        }
        guard let kctx = EVP_KDF_CTX_new(kdf) else {
            throw TLSError(.internalError, "EVP_KDF_CTX_new failed", openSSLErrors: OpenSSLError.drainQueue())
        }
        defer { EVP_KDF_CTX_free(kctx) }

        // OSSL_PARAM keeps pointers to its names and values: hold them in stable memory.
        let arena = ParameterArena()
        defer { arena.release() }
        let params = [
            OSSL_PARAM_construct_int(arena.cString("mode"), arena.int32(EVP_KDF_HKDF_MODE_EXPAND_ONLY)),
            OSSL_PARAM_construct_utf8_string(arena.cString("digest"), arena.cString(digest), 0),
            OSSL_PARAM_construct_octet_string(arena.cString("key"), arena.bytes(secret), secret.count),
            OSSL_PARAM_construct_octet_string(arena.cString("prefix"), arena.bytes(Array("tls13 ".utf8)), 6),
            OSSL_PARAM_construct_octet_string(arena.cString("label"), arena.bytes(Array(label.utf8)), label.utf8.count),
            OSSL_PARAM_construct_octet_string(arena.cString("data"), arena.bytes(context), context.count),
            OSSL_PARAM_construct_end(),
        ]
        var output = [UInt8](repeating: 0, count: length)
        ERR_clear_error()
        let rc = params.withUnsafeBufferPointer { EVP_KDF_derive(kctx, &output, length, $0.baseAddress) }
        guard rc == 1 else {
            throw TLSError(.internalError, "HKDF-Expand-Label(\(label)) failed", openSSLErrors: OpenSSLError.drainQueue())
        }
        return output
    }
}

/// OpenSSL's TLS13-KDF, fetched once per process: a fetch looks the algorithm up in the
/// provider store under a lock, which every connection's four derivations would pay again.
/// An `EVP_KDF` is immutable and reference-counted: every thread may make contexts from it.
private let tls13KDF = FetchedAlgorithm(EVP_KDF_fetch(nil, "TLS13-KDF", nil))

/// Heap copies that outlive the OSSL_PARAM array built from them; wiped and freed by `release`.
private final class ParameterArena {
    private var blocks: [(UnsafeMutableRawPointer, Int)] = []

    func bytes(_ value: [UInt8]) -> UnsafeMutableRawPointer {
        let block = UnsafeMutableRawPointer.allocate(byteCount: max(1, value.count), alignment: 8)
        value.withUnsafeBytes { if let base = $0.baseAddress { block.copyMemory(from: base, byteCount: value.count) } }
        blocks.append((block, max(1, value.count)))
        return block
    }

    func cString(_ value: String) -> UnsafeMutablePointer<CChar> {
        bytes(Array(value.utf8) + [0]).assumingMemoryBound(to: CChar.self)
    }

    func int32(_ value: Int32) -> UnsafeMutablePointer<Int32> {
        let block = bytes([UInt8](repeating: 0, count: 4)).assumingMemoryBound(to: Int32.self)
        block.pointee = value
        return block
    }

    func release() {
        for (block, count) in blocks {
            OPENSSL_cleanse(block, count)
            block.deallocate()
        }
        blocks = []
    }
}
