import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// The server's session ticket key callback (`SSL_CTX_set_tlsext_ticket_key_evp_cb`): encrypts
/// each new ticket under the context's current ``TLSTicketKeys`` key (AES-256-CBC, fresh random
/// IV, HMAC-SHA256) and decrypts a presented ticket under the key its name picks. A ticket whose
/// key is unknown (another server's, or dropped by rotation) is not decrypted: OpenSSL then makes
/// a full handshake. A ticket under a key that no longer encrypts is accepted and marked for
/// renewal (``TLSConnection/presentedTicketUnderOlderKey``).
enum TicketKeyCallback {
    /// Installs the callback on `ctx` (an `SSL_CTX*` of the server role).
    static func install(on ctx: OpaquePointer) {
        _ = SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, callback)
    }

    /// OpenSSL's contract: encrypting, fill `name` and `iv`, initialise both contexts, return 1;
    /// decrypting, return 0 for an unknown key, 1 for a good one, 2 for a good one to renew;
    /// -1 on failure.
    static let callback:
        @convention(c) (
            OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?, OpaquePointer?, OpaquePointer?, Int32
        ) -> Int32 = { ssl, name, iv, cipherContext, macContext, encrypt in
            guard let ssl, let name, let iv, let cipherContext, let macContext, let cipher = aes256CBC.pointer,
                let keys = HandshakeObserver.of(ssl)?.context.ticketKeys
            else { return -1 }
            if encrypt == 1 {
                let key = keys.encryptionKey()
                key.name.withUnsafeBufferPointer { name.update(from: $0.baseAddress!, count: TLSTicketKey.nameLength) }
                guard RAND_bytes(iv, Int32(ivLength)) == 1, setMACKey(macContext, key),
                    key.aesKey.withUnsafeBufferPointer({ EVP_EncryptInit_ex(cipherContext, cipher, nil, $0.baseAddress, iv) }) == 1
                else { return -1 }
                return 1
            }
            guard let found = keys.decryptionKey(named: UnsafeBufferPointer(start: name, count: TLSTicketKey.nameLength)) else {
                return 0
            }
            let key = found.key
            guard setMACKey(macContext, key),
                key.aesKey.withUnsafeBufferPointer({ EVP_DecryptInit_ex(cipherContext, cipher, nil, $0.baseAddress, iv) }) == 1
            else { return -1 }
            // Any non-nil value marks the connection.
            if found.renew { SSL_set_ex_data(ssl, renewalIndex, UnsafeMutableRawPointer(bitPattern: 1)) }
            return found.renew ? 2 : 1
        }

    /// Sets HMAC-SHA256 with `key`'s HMAC key on `macContext` (an `EVP_MAC_CTX*` of HMAC).
    private static func setMACKey(_ macContext: OpaquePointer, _ key: TLSTicketKey) -> Bool {
        key.hmacKey.withUnsafeBufferPointer { hmac in
            var params = [
                OSSL_PARAM_construct_octet_string(
                    names.key, UnsafeMutableRawPointer(mutating: hmac.baseAddress), TLSTicketKey.hmacKeyLength),
                OSSL_PARAM_construct_utf8_string(names.digest, names.sha256, 0),
                OSSL_PARAM_construct_end(),
            ]
            return EVP_MAC_CTX_set_params(macContext, &params) == 1
        }
    }

    /// Whether the ticket `ssl` resumed from was decrypted with a key that no longer encrypts.
    static func presentedTicketUnderOlderKey(_ ssl: OpaquePointer) -> Bool {
        SSL_get_ex_data(ssl, renewalIndex) != nil
    }

    /// The IV length of AES-256-CBC (OpenSSL's buffer is `EVP_MAX_IV_LENGTH`, 16).
    private static let ivLength = 16
    /// The ex-data slot of `SSL` objects marking a ticket to renew.
    private static let renewalIndex: Int32 = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, 0, nil, nil, nil, nil)
    /// AES-256-CBC, fetched once per process (an implicit fetch per ticket would take the
    /// provider store's lock each time).
    private static let aes256CBC = FetchedAlgorithm(EVP_CIPHER_fetch(nil, "AES-256-CBC", nil))
    /// C strings the OSSL_PARAMs point at, alive for the whole process.
    private static let names = ParameterNames()
}

/// The parameter names and digest name of the MAC key parameters, as process-lifetime C strings.
private struct ParameterNames: @unchecked Sendable {
    let key = UnsafePointer(strdup("key")!)
    let digest = UnsafePointer(strdup("digest")!)
    let sha256 = strdup("SHA256")!
}
