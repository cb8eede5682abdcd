import COpenSSL

extension TLSConnection {
    /// The number of certificates in the peer chain this connection verified (leaf to the
    /// certificate it trusted: an anchor, or an issuer remembered by ``VerifiedIssuers``); 0 when
    /// none was verified here (a resumed session).
    public var verifiedChainLength: Int {
        guard let chain = SSL_get0_verified_chain(ssl) else { return 0 }
        return Int(mg_sk_X509_num(chain))
    }
}
