import MeshgateLoop

/// A loop's accept on one route listener.
struct RouteAcceptor {
    /// The shared listener (held while this loop may touch its descriptor).
    var listener: RouteListener? = nil
    /// The route as of the snapshot this loop runs with.
    var route: GatewayRoute? = nil
    /// Bumped when the entry is reused, so completions of an earlier accept are dropped.
    var generation: UInt32 = 0
    /// An accept is armed on the listener.
    var armed = false
    /// The snapshot pass that last saw it (to find removed routes without allocating).
    var mark: UInt64 = 0
}

/// A service port's endpoints as one loop balances them.
struct ServicePortKey: Hashable {
    let service: ObjectIdentifier
    let port: UInt16
}

/// One loop's view of the gateway: the snapshot it runs with, its accepts on the route
/// listeners, and its upstream choices per route and per service port. Loop-confined.
final class GatewayLoopState {
    let publisher: RouteTablePublisher
    /// Serves `discover` streams (nil: they are refused as unsupported).
    let discovery: (any DiscoverStreamHandler)?
    /// Loop-clock nanoseconds a client has to send its transport header after TLS.
    let headerTimeout: Int64
    /// Who may connect to services.
    let inbound: InboundPolicy
    /// Loop-clock nanoseconds a peer's warm-pool connection waits for its `connect` header.
    let pooledIdleTimeout: Int64
    /// How many loops the gateway runs (each keeps its share of a pool).
    let loops: Int
    /// This loop's warm pools.
    var pools: [WarmPoolKey: WarmPool] = [:]
    /// The per-cluster pool series this loop has used (from `LoopShared.poolSeries`).
    var poolSeries: [String: PoolSeries] = [:]
    /// The snapshot this loop runs with.
    var snapshot: GatewaySnapshot
    var acceptors: [RouteAcceptor] = []
    var freeAcceptors: [Int] = []
    var acceptorByListener: [ObjectIdentifier: Int] = [:]
    /// Balancers, each with the object it was built for (held, so identifiers stay unique).
    /// By route key; an entry counts only for the very route object it was built for.
    var routeBalancers: [String: (GatewayRoute, UpstreamBalancer)] = [:]
    var serviceBalancers: [ServicePortKey: (ExportedService, UpstreamBalancer)] = [:]

    init(
        publisher: RouteTablePublisher, discovery: (any DiscoverStreamHandler)?, headerTimeout: Duration, inbound: InboundPolicy = InboundPolicy(),
        pooledIdleTimeout: Duration = .seconds(120), loops: Int = 1
    ) {
        self.publisher = publisher
        self.pooledIdleTimeout = pooledIdleTimeout.nanoseconds
        self.loops = loops
        self.discovery = discovery
        self.inbound = inbound
        self.headerTimeout = headerTimeout.nanoseconds
        // Generation 0 has no routes; the first apply arms whatever is current by then.
        self.snapshot = GatewaySnapshot(
            generation: 0, routes: [:], services: [:], credentials: publisher.snapshot.credentials, delta: nil)
    }
}

@available(*, unavailable)
extension GatewayLoopState: Sendable {}
