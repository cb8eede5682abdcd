/// A workload identity as meshgate leaf certificates carry it: a service account in a
/// namespace, under a trust domain (docs/identity.md).
///
/// The same rules as `MeshgateTLS.TLSIdentity`, kept here so that the identity tooling does not
/// depend on the TLS engine: the trust domain is a DNS name, the namespace one DNS label, the
/// service account a DNS name (it may contain dots).
public struct WorkloadIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The trust domain, e.g. `cluster.local`.
    public let trustDomain: String
    /// The namespace, e.g. `meshgate-west`.
    public let namespace: String
    /// The service account, e.g. `gateway`.
    public let serviceAccount: String

    /// An identity; nil when a part is not a plausible DNS name (the namespace: label).
    public init?(trustDomain: String, namespace: String, serviceAccount: String) {
        guard DNSName.isName(trustDomain), DNSName.isLabel(namespace), DNSName.isName(serviceAccount) else { return nil }
        self.trustDomain = trustDomain
        self.namespace = namespace
        self.serviceAccount = serviceAccount
    }

    /// The identity of cluster `cluster`'s gateway: service account `gateway` in namespace
    /// `meshgate-<cluster>`; nil when the cluster name is not a DNS label short enough for that.
    public static func gateway(cluster: String, trustDomain: String) -> WorkloadIdentity? {
        guard DNSName.isLabel(cluster) else { return nil }
        return WorkloadIdentity(trustDomain: trustDomain, namespace: "meshgate-\(cluster)", serviceAccount: "gateway")
    }

    /// Parses the DNS SAN form `<sa>.<ns>.serviceaccount.identity.<trust-domain>` (case-insensitive).
    public init?(dnsName: String) {
        let name = dnsName.lowercased()
        guard let marker = name.range(of: ".serviceaccount.identity.") else { return nil }
        let prefix = name[..<marker.lowerBound]
        guard let dot = prefix.lastIndex(of: ".") else { return nil }
        self.init(
            trustDomain: String(name[marker.upperBound...]),
            namespace: String(prefix[prefix.index(after: dot)...]),
            serviceAccount: String(prefix[..<dot]))
    }

    /// Parses the SPIFFE form `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`.
    public init?(spiffeURI: String) {
        let scheme = "spiffe://"
        guard spiffeURI.hasPrefix(scheme) else { return nil }
        let parts = spiffeURI.dropFirst(scheme.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[1] == "ns", parts[3] == "sa" else { return nil }
        self.init(trustDomain: String(parts[0]), namespace: String(parts[2]), serviceAccount: String(parts[4]))
    }

    /// `<sa>.<ns>.serviceaccount.identity.<trust-domain>` (Linkerd's form).
    public var dnsName: String { "\(serviceAccount).\(namespace).serviceaccount.identity.\(trustDomain)" }

    /// `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`.
    public var spiffeURI: String { "spiffe://\(trustDomain)/ns/\(namespace)/sa/\(serviceAccount)" }

    /// The SPIFFE URI.
    public var description: String { spiffeURI }
}
