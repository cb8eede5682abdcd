import MeshgateTLS

/// A workload identity as configuration files name it: the TLS layer's `TLSIdentity` (one set of
/// shape rules for both), written `spiffe://<trust-domain>/ns/<ns>/sa/<sa>` or in Linkerd's DNS
/// form `<sa>.<ns>.serviceaccount.identity.<trust-domain>`.
public typealias WorkloadIdentity = TLSIdentity

extension TLSIdentity {
    /// Parses either written form, with a message naming both when `text` is neither.
    public static func parse(_ text: String) throws(InvalidValue) -> TLSIdentity {
        guard let identity = TLSIdentity(text) else {
            throw InvalidValue(
                "'\(text)' is not a workload identity (expected spiffe://<trust-domain>/ns/<namespace>/sa/<account> or <account>.<namespace>.serviceaccount.identity.<trust-domain>)"
            )
        }
        return identity
    }

    /// The identity a meshgate gateway of `cluster` has: `spiffe://<td>/ns/meshgate-<cluster>/sa/gateway`.
    /// Nil when the namespace would not be a DNS label (a cluster name longer than 54 characters).
    public static func gateway(cluster: String, trustDomain: String) -> TLSIdentity? {
        TLSIdentity(trustDomain: trustDomain, namespace: "meshgate-\(cluster)", serviceAccount: "gateway")
    }
}
