/// Gateway identities: cluster `c`'s gateway is service account `gateway` in namespace
/// `meshgate-<c>` (docs/identity.md). The one place these names are made and read.
extension WorkloadIdentity {
    /// The namespace prefix of gateway identities: `meshgate-<cluster>`.
    public static let gatewayNamespacePrefix = "meshgate-"
    /// The service account of gateway identities.
    public static let gatewayServiceAccount = "gateway"
    /// The common-name prefix of the CA that may issue cluster c's gateway identity
    /// (`meshgate issuer <c>`, as `meshgate identity issuer` names it: `IdentityNames.issuerPrefix`).
    public static let gatewayIssuerPrefix = "meshgate issuer "

    /// The cluster whose gateway this identity is (`meshgate-<cluster>/gateway` → `<cluster>`);
    /// nil for every other identity (a workload).
    public var gatewayCluster: String? {
        guard serviceAccount == Self.gatewayServiceAccount, namespace.hasPrefix(Self.gatewayNamespacePrefix) else { return nil }
        let cluster = namespace.dropFirst(Self.gatewayNamespacePrefix.count)
        return cluster.isEmpty ? nil : String(cluster)
    }

    /// Whether this is a gateway identity, `meshgate-<cluster>/gateway`.
    public var isGateway: Bool { gatewayCluster != nil }

    /// The identity of cluster `cluster`'s gateway: service account `gateway` in namespace
    /// `meshgate-<cluster>`; nil when the cluster name is not a DNS label short enough for that.
    public static func gateway(cluster: String, trustDomain: String) -> WorkloadIdentity? {
        guard DNSName.isLabel(cluster) else { return nil }
        return WorkloadIdentity(
            trustDomain: trustDomain, namespace: gatewayNamespacePrefix + cluster, serviceAccount: gatewayServiceAccount)
    }
}
