import MeshgateNames

extension GatewayCheck {
    /// A warning when `inbound.pooledIdleTimeout` is not above the longest `links.pool.maxAge`
    /// of this gateway's links (pools turned off not counted): peers configured alike would have
    /// their pooled connections reaped here before they replace them, so the pools churn.
    /// Nothing breaks; nil when there is nothing to say.
    static func poolTimeoutCheck(_ config: GatewayConfig) -> CheckResult? {
        guard let links = config.links else { return nil }
        let pools = ([(links.defaults, "links.pool.maxAge")]
            + links.clusters.sorted { $0.key < $1.key }.map { ($0.value, "links.clusters.\($0.key).pool.maxAge") })
            .filter { $0.0.pool.isEnabled }
        guard let longest = pools.max(by: { $0.0.pool.maxAge < $1.0.pool.maxAge }) else { return nil }
        let timeout = config.inbound.pooledIdleTimeout
        let maxAge = longest.0.pool.maxAge
        guard timeout <= maxAge else { return nil }
        return CheckResult(
            "warm pool timeouts", .warning,
            "inbound.pooledIdleTimeout \(DurationText.format(timeout)) is not above \(longest.1) \(DurationText.format(maxAge)): peers configured alike have their pooled connections closed here before they replace them",
            hint: "raise inbound.pooledIdleTimeout above the peers' links.pool.maxAge, or lower maxAge (docs/gateway-config.md)")
    }
}
