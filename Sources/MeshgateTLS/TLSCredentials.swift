import COpenSSL

/// Loading a context's own certificate chain and key, and its trust bundle, from PEM files.
enum TLSCredentials {
    /// Loads chain, key and trust bundle of `configuration` into `ctx` (an `SSL_CTX*`).
    static func load(into ctx: OpaquePointer, _ configuration: TLSConfiguration) throws(TLSError) {
        try loadChainAndKey(into: ctx, chain: configuration.certificateChainPath, key: configuration.privateKeyPath)
        try loadTrustBundle(into: ctx, path: configuration.trustBundlePath)
    }

    private static func loadChainAndKey(into ctx: OpaquePointer, chain chainPath: String, key keyPath: String) throws(TLSError) {
        let chain = try PEMFile.certificates(at: chainPath)
        let key = try PEMFile.privateKey(at: keyPath)
        guard key.isECDSAP256 else {
            throw TLSError(.unsupportedKey, "private key \(keyPath) is not an ECDSA P-256 key")
        }
        ERR_clear_error()
        guard X509_check_private_key(chain[0].raw, key.raw) == 1 else {
            throw .keyMismatch(cert: chainPath, key: keyPath)
        }
        ERR_clear_error()
        guard SSL_CTX_use_certificate(ctx, chain[0].raw) == 1 else {
            throw TLSError(.invalidPEM, "certificate \(chainPath) was refused", openSSLErrors: OpenSSLError.drainQueue())
        }
        for intermediate in chain.dropFirst() {
            ERR_clear_error()
            guard mg_SSL_CTX_add1_chain_cert(ctx, intermediate.raw) == 1 else {
                throw TLSError(.invalidPEM, "chain certificate in \(chainPath) was refused", openSSLErrors: OpenSSLError.drainQueue())
            }
        }
        ERR_clear_error()
        guard SSL_CTX_use_PrivateKey(ctx, key.raw) == 1, SSL_CTX_check_private_key(ctx) == 1 else {
            throw .keyMismatch(cert: chainPath, key: keyPath)
        }
    }

    private static func loadTrustBundle(into ctx: OpaquePointer, path: String) throws(TLSError) {
        let anchors = try PEMFile.certificates(at: path)
        guard let store = SSL_CTX_get_cert_store(ctx) else {
            throw TLSError(.internalError, "SSL_CTX has no certificate store")
        }
        for anchor in anchors {
            ERR_clear_error()
            guard X509_STORE_add_cert(store, anchor.raw) == 1 else {
                throw TLSError(.invalidPEM, "trust anchor in \(path) was refused", openSSLErrors: OpenSSLError.drainQueue())
            }
        }
    }
}
