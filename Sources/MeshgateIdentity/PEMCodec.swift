import Crypto
import SwiftASN1
import X509

/// PEM text of certificates and ECDSA P-256 private keys, and parsing it back with errors that
/// name the file.
public enum PEMCodec {
    /// The certificates, one PEM block each, in order; ends with a newline.
    public static func encode(_ certificates: [Certificate]) throws(IdentityError) -> String {
        var text = ""
        for certificate in certificates {
            let block = try IdentityError.wrapping(.internalError, "cannot encode \(certificate.subject)") {
                try certificate.serializeAsPEM().pemString
            }
            text += block + "\n"
        }
        return text
    }

    /// The key as a PKCS#8 `PRIVATE KEY` block; ends with a newline.
    public static func encode(_ key: P256.Signing.PrivateKey) -> String {
        let text = key.pemRepresentation
        return text.hasSuffix("\n") ? text : text + "\n"
    }

    /// Every `CERTIFICATE` block of `text` (other blocks are skipped).
    ///
    /// - Throws: ``IdentityError/Code/invalidFile`` naming `path` when the text is not PEM, a
    ///   block does not decode, or there is no certificate at all.
    public static func certificates(in text: String, path: String) throws(IdentityError) -> [Certificate] {
        // (ASN1Error's description ends with a source file and line: not for users.)
        guard let documents = try? PEMDocument.parseMultiple(pemString: text) else {
            throw IdentityError(.invalidFile, path: path, "\(path): not a PEM file (a BEGIN/END block is malformed or not base64)")
        }
        var certificates: [Certificate] = []
        for (index, document) in documents.enumerated() where document.discriminator == "CERTIFICATE" {
            guard let certificate = try? Certificate(derEncoded: document.derBytes) else {
                throw IdentityError(.invalidFile, path: path, "\(path): PEM block \(index + 1) is not a valid X.509 certificate")
            }
            certificates.append(certificate)
        }
        guard !certificates.isEmpty else {
            let found = documents.map(\.discriminator)
            let what = found.isEmpty ? "no PEM blocks" : "only \(found.joined(separator: ", "))"
            throw IdentityError(.invalidFile, path: path, "\(path): no certificate in the file (\(what))")
        }
        return certificates
    }

    /// The ECDSA P-256 private key in `text` (PKCS#8 `PRIVATE KEY` or SEC 1 `EC PRIVATE KEY`).
    public static func privateKey(in text: String, path: String) throws(IdentityError) -> P256.Signing.PrivateKey {
        guard let key = try? P256.Signing.PrivateKey(pemRepresentation: text) else {
            throw IdentityError(.invalidFile, path: path, "\(path): not an ECDSA P-256 private key in PEM")
        }
        return key
    }
}
