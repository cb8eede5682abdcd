import MeshgateLoop

/// One link's warm pool in one loop: established, handshaked connections to the linked
/// cluster's gateways that wait for a local client (docs/links.md, "Warm pools"). The
/// connections themselves are slab slots of role `pooled`; this holds which slots are its own,
/// which of them are ready, and when to open more. Loop-confined.
final class WarmPool {
    /// A slot of this pool: its generation, the gateway address it connects to, and whether
    /// it is ready (handshaked) or still opening.
    struct Member {
        var generation: UInt32
        var address: Int
        var ready: Bool
    }

    /// The linked cluster.
    let cluster: String
    /// The latest route of the cluster that has a pool: its gateways, identity and policy.
    private(set) var route: GatewayRoute
    /// The keys of the cluster's routes with a pool (the pool goes when the last one goes).
    var routeKeys: Set<String> = []
    /// One balancer per gateway address (each pooled connection goes to one address).
    private(set) var balancers: [UpstreamBalancer]
    /// Every slot the pool owns, opening or ready.
    var members: [UInt32: Member] = [:]
    /// Ready slots, the newest last (a client takes the newest: the least likely to have been
    /// closed by the peer).
    var ready: [(slot: UInt32, generation: UInt32)] = []
    /// Opens that failed in a row (reset by a success): they space the next attempts out.
    var failures = 0
    /// No open starts before this (loop clock).
    var retryAt: Int64 = 0

    init(route: GatewayRoute, loop index: Int) {
        cluster = route.cluster
        self.route = route
        balancers = Self.balancers(for: route, loop: index)
    }

    private static func balancers(for route: GatewayRoute, loop index: Int) -> [UpstreamBalancer] {
        route.gateways.map { UpstreamBalancer([$0], startingAt: index) }
    }

    /// The policy in force.
    var policy: WarmPoolPolicy? { route.pool }

    /// Whether `other` needs other connections than this pool's: other gateways or another
    /// identity to prove (the pool must then drain and start over).
    func needsNewConnections(for other: GatewayRoute) -> Bool {
        other.gateways != route.gateways || other.expectedIdentity != route.expectedIdentity
    }

    /// Takes `route` as the pool's route; new balancers when its gateways changed.
    func take(_ route: GatewayRoute, loop index: Int) {
        if route.gateways != self.route.gateways { balancers = Self.balancers(for: route, loop: index) }
        self.route = route
    }

    /// Slots owned for gateway address `i`, opening or ready.
    func count(address i: Int) -> Int {
        members.values.reduce(0) { $0 + ($1.address == i ? 1 : 0) }
    }

    /// The delay before the next open after `failures` failures in a row: 200 ms doubling up
    /// to 30 s.
    static func backoff(failures: Int) -> Int64 {
        let shift = min(max(failures - 1, 0), 8)
        return min(200_000_000 << Int64(shift), 30_000_000_000)
    }

    /// When a ready connection opened at `since` is retired: `maxAge` less a spread of up to a
    /// tenth by slot, so connections opened together do not all expire together.
    func expiry(since: Int64, slot: UInt32) -> Int64 {
        let age = policy?.maxAge.nanoseconds ?? 0
        return since &+ age &- age / 10 * Int64(slot % 8) / 8
    }
}

@available(*, unavailable)
extension WarmPool: Sendable {}
