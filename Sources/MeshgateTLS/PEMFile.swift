import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// An `X509*` owned by Swift; freed on deinit.
final class OwnedCertificate {
    let raw: OpaquePointer
    init(taking raw: OpaquePointer) { self.raw = raw }
    deinit { X509_free(raw) }
}

/// An `EVP_PKEY*` owned by Swift; freed on deinit.
final class OwnedPrivateKey {
    let raw: OpaquePointer
    init(taking raw: OpaquePointer) { self.raw = raw }
    deinit { EVP_PKEY_free(raw) }

    /// True for an EC key on P-256 (prime256v1), the only kind meshgate certificates use.
    var isECDSAP256: Bool {
        guard EVP_PKEY_is_a(raw, "EC") == 1 else { return false }
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(raw, &name, name.count, &length) == 1 else { return false }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) == "prime256v1"
    }
}

/// Reading PEM files into owned OpenSSL objects, with errors that name the file.
enum PEMFile {
    /// Every certificate in the file, in order (leaf first for a chain file). At least one.
    static func certificates(at path: String) throws(TLSError) -> [OwnedCertificate] {
        let bio = try open(path)
        defer { BIO_free(bio) }
        var certificates: [OwnedCertificate] = []
        ERR_clear_error()
        while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) {
            certificates.append(OwnedCertificate(taking: certificate))
        }
        // Reading stops with PEM_R_NO_START_LINE at the end of the file; anything else is damage.
        let last = ERR_peek_last_error()
        guard !certificates.isEmpty, last == 0 || ERR_GET_REASON(last) == PEM_R_NO_START_LINE else {
            throw .invalidPEM(path, expected: "certificate")
        }
        ERR_clear_error()
        return certificates
    }

    /// The (unencrypted) private key in the file.
    static func privateKey(at path: String) throws(TLSError) -> OwnedPrivateKey {
        let bio = try open(path)
        defer { BIO_free(bio) }
        ERR_clear_error()
        guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
            throw .invalidPEM(path, expected: "private key")
        }
        return OwnedPrivateKey(taking: key)
    }

    private static func open(_ path: String) throws(TLSError) -> OpaquePointer {
        ERR_clear_error()
        guard let bio = BIO_new_file(path, "r") else {
            let reason = String(cString: strerror(errno))
            throw .fileUnreadable(path, reason)
        }
        return bio
    }
}
