import COpenSSL
import Foundation

/// An EC P-256 key pair made with the OpenSSL C API (test only).
final class TestKey {
    let raw: OpaquePointer

    init() {
        let ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil)!
        defer { EVP_PKEY_CTX_free(ctx) }
        var key: OpaquePointer?
        precondition(EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1)
        precondition(EVP_PKEY_generate(ctx, &key) == 1)
        raw = key!
    }

    deinit { EVP_PKEY_free(raw) }

    func writePEM(to path: String) {
        let bio = BIO_new_file(path, "w")!
        defer { BIO_free(bio) }
        precondition(PEM_write_bio_PrivateKey(bio, raw, nil, nil, 0, nil, nil) == 1)
    }
}

/// An X.509 certificate signed with ECDSA-SHA256, with fixed validity (test only).
final class TestCertificate {
    let raw: OpaquePointer
    let key: TestKey

    /// Validity strings are `YYYYMMDDHHMMSSZ`; `issuer` nil makes a self-signed certificate.
    init(
        commonName: String, key: TestKey, issuer: TestCertificate?, serial: Int,
        notBefore: String, notAfter: String, extensions: [(Int32, String)]
    ) {
        let x = X509_new()!
        self.raw = x
        self.key = key
        precondition(X509_set_version(x, 2) == 1)
        precondition(ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1)
        precondition(ASN1_TIME_set_string_X509(X509_getm_notBefore(x), notBefore) == 1)
        precondition(ASN1_TIME_set_string_X509(X509_getm_notAfter(x), notAfter) == 1)
        precondition(X509_set_pubkey(x, key.raw) == 1)
        let name = X509_get_subject_name(x)
        precondition(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, commonName, -1, -1, 0) == 1)
        precondition(X509_set_issuer_name(x, issuer.map { X509_get_subject_name($0.raw) } ?? name) == 1)
        var v3 = X509V3_CTX()
        X509V3_set_ctx(&v3, issuer?.raw ?? x, x, nil, nil, 0)
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &v3, nid, value) else { fatalError("extension \(nid)=\(value)") }
            precondition(X509_add_ext(x, ext, -1) == 1)
            X509_EXTENSION_free(ext)
        }
        precondition(X509_sign(x, (issuer?.key ?? key).raw, EVP_sha256()) > 0)
    }

    deinit { X509_free(raw) }

    /// Writes `certificates` as consecutive PEM blocks.
    static func writePEM(_ certificates: [TestCertificate], to path: String) {
        let bio = BIO_new_file(path, "w")!
        defer { BIO_free(bio) }
        for certificate in certificates { precondition(PEM_write_bio_X509(bio, certificate.raw) == 1) }
    }

    static func anchor(_ name: String, serial: Int) -> TestCertificate {
        TestCertificate(
            commonName: name, key: TestKey(), issuer: nil, serial: serial,
            notBefore: "20300101000000Z", notAfter: "20400101000000Z",
            extensions: [
                (NID_basic_constraints, "critical,CA:TRUE"), (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_key_identifier, "hash"),
            ])
    }

    static func intermediate(_ name: String, serial: Int, issuer: TestCertificate) -> TestCertificate {
        TestCertificate(
            commonName: name, key: TestKey(), issuer: issuer, serial: serial,
            notBefore: "20300101000000Z", notAfter: "20350101000000Z",
            extensions: [
                (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"), (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_key_identifier, "hash"), (NID_authority_key_identifier, "keyid:always"),
            ])
    }

    /// A workload leaf naming `identity` as DNS and URI SANs, valid for 24 hours from `day` (YYYYMMDD).
    static func leaf(_ identity: String, serial: Int, issuer: TestCertificate, day: String = "20300601", sans: String? = nil)
        -> TestCertificate
    {
        let parts = identity.split(separator: ".")  // sa.ns.serviceaccount.identity.td...
        let uri = "spiffe://\(parts.dropFirst(4).joined(separator: "."))/ns/\(parts[1])/sa/\(parts[0])"
        let next = String(Int(day)! + 1)
        return TestCertificate(
            commonName: identity, key: TestKey(), issuer: issuer, serial: serial,
            notBefore: day + "000000Z", notAfter: next + "000000Z",
            extensions: [
                (NID_basic_constraints, "critical,CA:FALSE"), (NID_key_usage, "critical,digitalSignature"),
                (NID_ext_key_usage, "serverAuth,clientAuth"), (NID_subject_key_identifier, "hash"),
                (NID_authority_key_identifier, "keyid:always"),
                (NID_subject_alt_name, sans ?? "DNS:\(identity),URI:\(uri)"),
            ])
    }
}
