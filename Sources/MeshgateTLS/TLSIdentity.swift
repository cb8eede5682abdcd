/// A workload identity as meshgate certificates carry it: a service account in a namespace,
/// under a trust domain.
///
/// A leaf names it twice: DNS SAN `<sa>.<ns>.serviceaccount.identity.<trust-domain>` and
/// URI SAN `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`.
public struct TLSIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The trust domain, e.g. `cluster.local`.
    public let trustDomain: String
    /// The Kubernetes namespace.
    public let namespace: String
    /// The service account name.
    public let serviceAccount: String

    /// Creates an identity; returns nil when a part is empty or contains `/`, or the namespace
    /// or trust domain is not a plausible DNS name.
    public init?(trustDomain: String, namespace: String, serviceAccount: String) {
        guard Self.isDNSName(trustDomain), Self.isDNSLabel(namespace), Self.isDNSName(serviceAccount) else { return nil }
        self.trustDomain = trustDomain
        self.namespace = namespace
        self.serviceAccount = serviceAccount
    }

    /// Parses the DNS SAN form `<sa>.<ns>.serviceaccount.identity.<trust-domain>` (case-insensitive).
    /// The namespace is a single label, so a service account name may itself contain dots.
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

    /// Parses either form: a `spiffe://` URI or the DNS SAN form.
    public init?(_ text: String) {
        if text.hasPrefix("spiffe://") { self.init(spiffeURI: text) } else { self.init(dnsName: text) }
    }

    /// `<sa>.<ns>.serviceaccount.identity.<trust-domain>`.
    public var dnsName: String { "\(serviceAccount).\(namespace).serviceaccount.identity.\(trustDomain)" }

    /// `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`.
    public var spiffeURI: String { "spiffe://\(trustDomain)/ns/\(namespace)/sa/\(serviceAccount)" }

    /// The SPIFFE URI.
    public var description: String { spiffeURI }

    private static func isDNSLabel<S: StringProtocol>(_ label: S) -> Bool {
        guard !label.isEmpty, label.utf8.count <= 63, label.first != "-", label.last != "-" else { return false }
        return label.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: "-")
        }
    }

    private static func isDNSName(_ name: String) -> Bool {
        guard name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel($0) }
    }
}
