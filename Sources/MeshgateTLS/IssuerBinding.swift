import COpenSSL
import MeshgateNames

/// Binds gateway identities to their cluster's issuer: a leaf naming `meshgate-<c>/gateway`
/// must be signed directly by a CA whose subject common name is `meshgate issuer <c>` (the
/// name `meshgate identity issuer --cluster <c>` gives the intermediate it creates). So a
/// compromised or careless issuer of one cluster cannot mint another cluster's gateway.
///
/// Checked on the verified chain, once per full handshake, only for gateway identities: a
/// few lookups in the issuer's already-parsed subject and a byte comparison, no allocation.
enum IssuerBinding {
    /// The common-name prefix of cluster issuers, as bytes.
    static let issuerPrefix: [UInt8] = Array(WorkloadIdentity.gatewayIssuerPrefix.utf8)

    /// nil when `identity` is not a gateway identity or `chain` (an `STACK_OF(X509)`, leaf
    /// first) has it signed by its cluster's issuer; otherwise the failure.
    static func check(_ identity: WorkloadIdentity, chain: OpaquePointer?) -> TLSError? {
        guard let cluster = identity.gatewayCluster else { return nil }
        guard let chain, mg_sk_X509_num(chain) >= 2, let issuer = mg_sk_X509_value(chain, 1) else {
            return .issuerMismatch(identity, "its chain has no issuer certificate")
        }
        if commonName(of: issuer, is: cluster) { return nil }
        return .issuerMismatch(identity, "its issuer is not 'meshgate issuer \(cluster)'")
    }

    /// Whether the subject CN of `certificate` is exactly `meshgate issuer <cluster>`.
    static func commonName(of certificate: OpaquePointer, is cluster: String) -> Bool {
        guard let subject = X509_get_subject_name(certificate) else { return false }
        let index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(subject, index), let value = X509_NAME_ENTRY_get_data(entry),
            let data = ASN1_STRING_get0_data(value)
        else { return false }
        let bytes = UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(value)))
        let name = cluster.utf8
        guard bytes.count == issuerPrefix.count + name.count else { return false }
        return bytes.prefix(issuerPrefix.count).elementsEqual(issuerPrefix) && bytes.dropFirst(issuerPrefix.count).elementsEqual(name)
    }
}

extension TLSError {
    /// A gateway identity whose certificate was not issued by its own cluster's issuer.
    static func issuerMismatch(_ identity: WorkloadIdentity, _ detail: String) -> TLSError {
        TLSError(.peerIssuerMismatch, "peer \(identity) is a gateway identity of cluster \(identity.gatewayCluster ?? "?") but \(detail)")
    }
}
