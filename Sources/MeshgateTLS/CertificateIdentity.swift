import COpenSSL
import MeshgateNames

/// What a certificate's subject alternative names say about its meshgate identity.
enum CertificateIdentity: Equatable {
    /// The SANs name exactly one identity (in DNS form, URI form, or both agreeing).
    case identity(WorkloadIdentity)
    /// No SAN has either identity form.
    case missing
    /// The SANs name more than one identity.
    case conflicting([WorkloadIdentity])

    /// Reads the SANs of `certificate` (an `X509*`).
    static func of(_ certificate: OpaquePointer) -> CertificateIdentity {
        var found: [WorkloadIdentity] = []
        for name in subjectAltNames(certificate) {
            let parsed: WorkloadIdentity?
            switch name {
            case .dns(let text): parsed = WorkloadIdentity(dnsName: text)
            case .uri(let text): parsed = WorkloadIdentity(spiffeURI: text)
            }
            if let parsed, !found.contains(parsed) { found.append(parsed) }
        }
        switch found.count {
        case 0: return .missing
        case 1: return .identity(found[0])
        default: return .conflicting(found)
        }
    }

    /// The identity, when there is exactly one.
    var identity: WorkloadIdentity? {
        if case .identity(let identity) = self { return identity }
        return nil
    }

    private enum AltName {
        case dns(String)
        case uri(String)
    }

    private static func subjectAltNames(_ certificate: OpaquePointer) -> [AltName] {
        guard let raw = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var result: [AltName] = []
        for index in 0..<mg_sk_GENERAL_NAME_num(names) {
            guard let name = mg_sk_GENERAL_NAME_value(names, index) else { continue }
            switch name.pointee.type {
            case GEN_DNS:
                if let text = string(name.pointee.d.dNSName) { result.append(.dns(text)) }
            case GEN_URI:
                if let text = string(name.pointee.d.uniformResourceIdentifier) { result.append(.uri(text)) }
            default:
                continue
            }
        }
        return result
    }

    /// An IA5String's bytes as text; nil when absent or holding a NUL (a forged-name trick).
    private static func string(_ value: UnsafeMutablePointer<ASN1_STRING>?) -> String? {
        guard let value, let data = ASN1_STRING_get0_data(value) else { return nil }
        let bytes = UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(value)))
        guard !bytes.contains(0) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
