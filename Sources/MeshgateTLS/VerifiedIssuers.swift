import COpenSSL

/// Issuer certificates already verified under a trust anchor, remembered in the context's
/// certificate store so that later handshakes stop there instead of verifying the issuer's
/// signature (and looking up its anchor) again: a gateway sees the same few cluster issuers on
/// thousands of handshakes a second.
///
/// How: every connection verifies with `X509_V_FLAG_PARTIAL_CHAIN`, so a chain may end at any
/// certificate in the store. After a *full* handshake has passed every check (chain, times,
/// name constraints, identity policy, issuer binding), its issuers between the leaf and the
/// anchor go into the store. Later chains through them are verified from the leaf to the
/// remembered issuer; validity times are still checked on every certificate, the remembered
/// one included, and the store lives only as long as its ``TLSContext`` (a reload of identity or
/// trust builds a new one). Bounded: nothing is added once the store holds ``limit``
/// certificates (anchors and remembered issuers together). Issuers
/// under an anchor that carries name constraints are never remembered (the constraints would no
/// longer be applied above the issuer).
enum VerifiedIssuers {
    /// Certificates a context's store may hold before no more issuers are remembered.
    static let limit = 256

    /// Lets the chains of every connection of `ctx` (an `SSL_CTX*`; `SSL_new` copies its
    /// verification parameters) end at a remembered issuer.
    static func prepare(context ctx: OpaquePointer) {
        X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), UInt(X509_V_FLAG_PARTIAL_CHAIN))
    }

    /// After a full handshake: remembers the issuers of the verified chain (leaf first, anchor
    /// last) in `context`'s store. Does nothing for chains that already end at a remembered issuer.
    static func remember(from ssl: OpaquePointer, in context: TLSContext) {
        guard let chain = SSL_get0_verified_chain(ssl) else { return }
        let count = Int(mg_sk_X509_num(chain))
        guard count >= 3, let anchor = mg_sk_X509_value(chain, Int32(count - 1)),
            X509_get_ext_by_NID(anchor, NID_name_constraints, -1) < 0,
            let store = SSL_CTX_get_cert_store(context.raw)
        else { return }
        guard Int(mg_X509_STORE_object_count(store)) < limit else { return }
        for index in 1..<(count - 1) {
            guard let issuer = mg_sk_X509_value(chain, Int32(index)) else { continue }
            _ = X509_STORE_add_cert(store, issuer)  // takes its own reference; a duplicate is a no-op
        }
        ERR_clear_error()
    }
}
