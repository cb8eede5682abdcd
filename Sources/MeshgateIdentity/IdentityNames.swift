import MeshgateNames
import SwiftASN1
import X509

/// How meshgate names its CA certificates, and how the trust domain and cluster are read back.
///
/// Every certificate carries the trust domain as its subject organization (`O=<trust-domain>`);
/// `issuer` reads it from the anchor and `issue` from the issuer (and checks the issuer's anchor
/// agrees). A cluster issuer's common name is `meshgate issuer <cluster>`; that is where
/// `issue --gateway` learns the cluster.
public enum IdentityNames {
    /// The common-name prefix of trust anchors: `meshgate trust anchor <trust-domain>`.
    public static let anchorPrefix = "meshgate trust anchor "
    /// The common-name prefix of cluster issuers: `meshgate issuer <cluster>`.
    public static let issuerPrefix = "meshgate issuer "

    /// `O=<trust-domain>, CN=meshgate trust anchor <trust-domain>`.
    static func anchorSubject(trustDomain: String) throws -> DistinguishedName {
        try DistinguishedName {
            OrganizationName(trustDomain)
            CommonName(anchorPrefix + trustDomain)
        }
    }

    /// `O=<trust-domain>, CN=meshgate issuer <cluster>`.
    static func issuerSubject(trustDomain: String, cluster: String) throws -> DistinguishedName {
        try DistinguishedName {
            OrganizationName(trustDomain)
            CommonName(issuerPrefix + cluster)
        }
    }

    /// `O=<trust-domain>`, plus `CN=<DNS identity>` when it fits the 64-character limit of a
    /// common name (the SANs carry the identity either way).
    static func leafSubject(_ identity: WorkloadIdentity) throws -> DistinguishedName {
        let name = identity.dnsName
        if name.utf8.count <= 64 {
            return try DistinguishedName {
                OrganizationName(identity.trustDomain)
                CommonName(name)
            }
        }
        return try DistinguishedName { OrganizationName(identity.trustDomain) }
    }

    /// The subject organization, which meshgate sets to the trust domain.
    public static func trustDomain(of certificate: Certificate) -> String? {
        attribute(.RDNAttributeType.organizationName, in: certificate.subject)
    }

    /// The cluster of a cluster issuer, from its common name; nil for other certificates.
    public static func cluster(of certificate: Certificate) -> String? {
        guard let cn = attribute(.RDNAttributeType.commonName, in: certificate.subject), cn.hasPrefix(issuerPrefix) else {
            return nil
        }
        return String(cn.dropFirst(issuerPrefix.count))
    }

    private static func attribute(_ type: ASN1ObjectIdentifier, in name: DistinguishedName) -> String? {
        for rdn in name {
            for attribute in rdn where attribute.type == type {
                if let text = String(attribute.value) { return text }
            }
        }
        return nil
    }
}
