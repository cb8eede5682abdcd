import MeshgateProxy

/// How the mirror of one link (to one other cluster) behaves: how it probes the linked
/// gateway, how much it takes from it, and the warm pool its routes keep. Read from
/// `links.probe`, `links.limits` and `links.pool` in gateway.yaml, or from a cluster's entry
/// under `links.clusters`.
public struct LinkSettings: Hashable, Sendable {
    /// How often the mirror probes the linked gateway; the mirror applies ±10% jitter.
    public let probeInterval: Duration
    /// A probe not answered in this time fails; less than `probeInterval`.
    public let probeTimeout: Duration
    /// Consecutive failed probes before the link counts as down (1…100).
    public let failureThreshold: Int
    /// Remote services the link may mirror at most (1…100 000).
    public let maxServices: Int
    /// Sustained discovery updates per second the link may deliver (1…100 000); a burst of ten
    /// times this is allowed.
    public let maxUpdatesPerSecond: Int
    /// Mirrored routes (service ports) the link may have at most (1…100 000): routes beyond it
    /// are refused, the ones it has keep their place.
    public let maxRoutes: Int
    /// The warm pool of the link's mirrored routes (`links.pool`): idle connections per remote
    /// gateway address (0–64, 0 = off) and how long each may wait (1 s…1 h).
    public let pool: WarmPoolPolicy

    /// Creates the value; defaults as documented (`GatewayDefaults`).
    public init(
        probeInterval: Duration = GatewayDefaults.probeInterval, probeTimeout: Duration = GatewayDefaults.probeTimeout,
        failureThreshold: Int = GatewayDefaults.probeFailureThreshold, maxServices: Int = GatewayDefaults.linkServices,
        maxUpdatesPerSecond: Int = GatewayDefaults.linkUpdatesPerSecond, maxRoutes: Int = GatewayDefaults.linkRoutes,
        pool: WarmPoolPolicy = GatewayDefaults.warmPool
    ) {
        self.probeInterval = probeInterval
        self.probeTimeout = probeTimeout
        self.failureThreshold = failureThreshold
        self.maxServices = maxServices
        self.maxUpdatesPerSecond = maxUpdatesPerSecond
        self.maxRoutes = maxRoutes
        self.pool = pool
    }
}
