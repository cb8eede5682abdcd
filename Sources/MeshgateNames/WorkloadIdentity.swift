/// A workload identity as meshgate leaf certificates carry it: a service account in a
/// namespace, under a trust domain (docs/identity.md). The one type for it: the TLS engine
/// checks peers against it, the identity tooling issues it, the configuration names it.
///
/// The trust domain is a DNS name, the namespace one DNS label, the service account a DNS name
/// (it may contain dots). A leaf names it twice: DNS SAN
/// `<sa>.<ns>.serviceaccount.identity.<trust-domain>` and URI SAN
/// `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`.
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

    /// Parses the DNS SAN form `<sa>.<ns>.serviceaccount.identity.<trust-domain>` (case-insensitive).
    public init?(dnsName: String) {
        // Labels: <sa…>.<ns>.serviceaccount.identity.<td…>; the first such marker counts.
        let labels = dnsName.lowercased().split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 5,
            let at = (1..<(labels.count - 2)).first(where: { labels[$0] == "serviceaccount" && labels[$0 + 1] == "identity" }),
            at >= 2
        else { return nil }
        self.init(
            trustDomain: labels[(at + 2)...].joined(separator: "."),
            namespace: String(labels[at - 1]),
            serviceAccount: labels[..<(at - 1)].joined(separator: "."))
    }

    /// Parses either form: a `spiffe://` URI or the DNS SAN form.
    public init?(_ text: String) {
        if text.hasPrefix("spiffe://") { self.init(spiffeURI: text) } else { self.init(dnsName: text) }
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
