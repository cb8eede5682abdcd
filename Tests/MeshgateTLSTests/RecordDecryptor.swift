import COpenSSL

@testable import MeshgateTLS

/// Opens one TLS 1.3 application-data record with given kTLS keys, independently of OpenSSL's
/// record layer: nonce = IV xor sequence, AAD = the 5-byte header (test only).
enum RecordDecryptor {
    static func open(_ record: [UInt8], keys: KTLSKeys.TrafficKeys, cipher: KTLSKeys.Cipher) -> [UInt8]? {
        guard record.count >= 5 + 17, record[0] == 23 else { return nil }
        let length = Int(record[3]) << 8 | Int(record[4])
        guard record.count == 5 + length else { return nil }
        var nonce = keys.fullIV
        for i in 0..<8 { nonce[4 + i] ^= UInt8(truncatingIfNeeded: keys.recordSequence >> (56 - 8 * UInt64(i))) }
        let body = Array(record[5..<(record.count - 16)])
        var tag = Array(record.suffix(16))
        let ctx = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(ctx) }
        let evp = cipher == .aes128GCM ? EVP_aes_128_gcm() : EVP_aes_256_gcm()
        var plain = [UInt8](repeating: 0, count: body.count + 16)
        var outLength: Int32 = 0
        var finalLength: Int32 = 0
        var trailer = [UInt8](repeating: 0, count: 16)  // GCM produces nothing at the end
        guard EVP_DecryptInit_ex(ctx, evp, nil, keys.key, nonce) == 1,
            EVP_DecryptUpdate(ctx, nil, &outLength, Array(record[0..<5]), 5) == 1,
            EVP_DecryptUpdate(ctx, &plain, &outLength, body, Int32(body.count)) == 1,
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, &tag) == 1,
            EVP_DecryptFinal_ex(ctx, &trailer, &finalLength) == 1, finalLength == 0
        else { return nil }
        // TLSInnerPlaintext: content, then the real content type (23), then zero padding.
        var inner = Array(plain[0..<Int(outLength)])
        while inner.last == 0 { inner.removeLast() }
        guard inner.popLast() == 23 else { return nil }
        return inner
    }
}
