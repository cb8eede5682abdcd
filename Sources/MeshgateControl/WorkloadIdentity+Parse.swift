import MeshgateNames

/// Workload identities as configuration files name them: `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`
/// or Linkerd's DNS form `<sa>.<ns>.serviceaccount.identity.<trust-domain>`.
extension WorkloadIdentity {
    /// Parses either written form, with a message naming both when `text` is neither.
    public static func parse(_ text: String) throws(InvalidValue) -> WorkloadIdentity {
        guard let identity = WorkloadIdentity(text) else {
            throw InvalidValue(
                "'\(text)' is not a workload identity (expected spiffe://<trust-domain>/ns/<namespace>/sa/<account> or <account>.<namespace>.serviceaccount.identity.<trust-domain>)"
            )
        }
        return identity
    }
}
