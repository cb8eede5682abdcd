/// A meshgate workload identity: a service account in a namespace, under a trust domain.
///
/// Written either as a SPIFFE URI `spiffe://<trust-domain>/ns/<ns>/sa/<sa>` or in Linkerd's DNS
/// form `<sa>.<ns>.serviceaccount.identity.<trust-domain>`; both name the same identity. Only the
/// shape is checked here (the TLS layer compares certificates).
public struct WorkloadIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The trust domain, e.g. `cluster.local`.
    public let trustDomain: String
    /// The namespace (a DNS label).
    public let namespace: String
    /// The service account (a DNS name: labels joined by dots).
    public let serviceAccount: String

    /// Creates an identity, or nil when a part has the wrong shape.
    public init?(trustDomain: String, namespace: String, serviceAccount: String) {
        guard DNSName.isName(trustDomain), DNSName.isLabel(namespace), DNSName.isName(serviceAccount) else { return nil }
        self.trustDomain = trustDomain
        self.namespace = namespace
        self.serviceAccount = serviceAccount
    }

    /// Parses either written form.
    public static func parse(_ text: String) throws(InvalidValue) -> WorkloadIdentity {
        let spiffe = "spiffe://"
        let forms =
            "expected spiffe://<trust-domain>/ns/<namespace>/sa/<account> or <account>.<namespace>.serviceaccount.identity.<trust-domain>"
        if text.hasPrefix(spiffe) {
            let parts = text.dropFirst(spiffe.count).split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 5, parts[1] == "ns", parts[3] == "sa",
                let identity = WorkloadIdentity(
                    trustDomain: String(parts[0]), namespace: String(parts[2]), serviceAccount: String(parts[4]))
            else { throw InvalidValue("'\(text)' is not a workload identity (\(forms))") }
            return identity
        }
        let name = text.lowercased()
        guard let marker = name.range(of: ".serviceaccount.identity.") else {
            throw InvalidValue("'\(text)' is not a workload identity (\(forms))")
        }
        let prefix = name[..<marker.lowerBound]
        guard let dot = prefix.lastIndex(of: "."),
            let identity = WorkloadIdentity(
                trustDomain: String(name[marker.upperBound...]),
                namespace: String(prefix[prefix.index(after: dot)...]),
                serviceAccount: String(prefix[..<dot]))
        else { throw InvalidValue("'\(text)' is not a workload identity (\(forms))") }
        return identity
    }

    /// The identity a meshgate gateway of `cluster` has: `spiffe://<td>/ns/meshgate-<cluster>/sa/gateway`.
    /// Nil when the namespace would not be a DNS label (a cluster name longer than 54 characters).
    public static func gateway(cluster: String, trustDomain: String) -> WorkloadIdentity? {
        WorkloadIdentity(trustDomain: trustDomain, namespace: "meshgate-\(cluster)", serviceAccount: "gateway")
    }

    /// `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`.
    public var spiffeURI: String { "spiffe://\(trustDomain)/ns/\(namespace)/sa/\(serviceAccount)" }

    /// `<sa>.<ns>.serviceaccount.identity.<trust-domain>`.
    public var dnsName: String { "\(serviceAccount).\(namespace).serviceaccount.identity.\(trustDomain)" }

    /// The SPIFFE URI.
    public var description: String { spiffeURI }
}
