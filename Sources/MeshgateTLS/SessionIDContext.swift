import COpenSSL
import MeshgateNames

/// A server's session id context: SHA-256 over what a resumed session relies on without checking
/// it again — the ALPN protocol, the server's own leaf certificate, its trust anchors and its
/// client policy (allowed identities, issuer binding). OpenSSL resumes a ticket only when the
/// context it was issued under equals the server's, so a ticket issued under another identity,
/// trust bundle or policy (an identity reload, another gateway sharing the key file) makes a full
/// handshake, in which the client verifies the certificate anew and the server its client's.
/// Servers built from the same files and policy (a reload without change, a replica) share it.
enum SessionIDContext {
    /// The 32-byte context of the server context `ctx` (an `SSL_CTX*` with its credentials loaded).
    static func digest(of ctx: OpaquePointer, _ configuration: TLSConfiguration) throws(TLSError) -> [UInt8] {
        var input: [UInt8] = []
        appendField(&input, Array(configuration.applicationProtocol.utf8))
        guard let leaf = SSL_CTX_get0_certificate(ctx), let leafDER = der(leaf) else {
            throw TLSError(.internalError, "cannot encode the server certificate", openSSLErrors: OpenSSLError.drainQueue())
        }
        appendField(&input, leafDER)
        let anchors = try trustAnchorsDER(ctx)
        appendField(&input, [UInt8](String(anchors.count).utf8))
        anchors.forEach { appendField(&input, $0) }
        let allowed = configuration.allowedPeerIdentities.map { $0.map(\.spiffeURI).sorted() }
        appendField(&input, Array((allowed.map { "allow:" + $0.joined(separator: " ") } ?? "allow any").utf8))
        appendField(&input, [configuration.bindsGatewayIssuers ? 1 : 0])
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_Digest(input, input.count, &digest, &length, EVP_sha256(), nil) == 1 else {
            throw TLSError(.internalError, "SHA-256 failed", openSSLErrors: OpenSSLError.drainQueue())
        }
        return Array(digest.prefix(Int(length)))
    }

    /// Appends `field` with a 4-byte big-endian length, so that no two field lists hash alike.
    private static func appendField(_ input: inout [UInt8], _ field: [UInt8]) {
        let count = UInt32(field.count)
        input += [UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)]
        input += field
    }

    /// The DER of every certificate in the context's trust store, sorted (the store's own order
    /// is not part of the trust).
    private static func trustAnchorsDER(_ ctx: OpaquePointer) throws(TLSError) -> [[UInt8]] {
        guard let store = SSL_CTX_get_cert_store(ctx), let all = X509_STORE_get1_all_certs(store) else {
            throw TLSError(.internalError, "cannot list the trust anchors", openSSLErrors: OpenSSLError.drainQueue())
        }
        defer { mg_sk_X509_pop_free(all) }
        var anchors: [[UInt8]] = []
        for index in 0..<mg_sk_X509_num(all) {
            guard let certificate = mg_sk_X509_value(all, index), let encoded = der(certificate) else {
                throw TLSError(.internalError, "cannot encode a trust anchor", openSSLErrors: OpenSSLError.drainQueue())
            }
            anchors.append(encoded)
        }
        return anchors.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// The DER encoding of `certificate` (an `X509*`).
    private static func der(_ certificate: OpaquePointer) -> [UInt8]? {
        let length = i2d_X509(certificate, nil)
        guard length > 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_X509(certificate, &cursor)
        }
        return written == length ? bytes : nil
    }
}
