import MeshgateLoop
import MeshgateNames

/// What a pooled connection is good for: the routes to one cluster through the same gateway
/// addresses and expecting the same identity (a link's mirrored routes, and static routes to
/// that cluster with the same gateways) share one pool.
struct WarmPoolKey: Hashable {
    let cluster: String
    let gateways: [SocketAddress]
    let identity: WorkloadIdentity

    init(_ route: GatewayRoute) {
        cluster = route.cluster
        gateways = route.gateways
        identity = route.expectedIdentity
    }
}

/// One warm pool in one loop (per `WarmPoolKey`): established, handshaked connections to a
/// linked cluster's gateways that wait for a local client (docs/links.md, "Warm pools"). The
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

    /// The routes it serves.
    let key: WarmPoolKey
    /// The latest of its routes: its policy and whether the link is up.
    var route: GatewayRoute
    /// The keys of its routes (the pool goes when the last one goes).
    var routeKeys: Set<String> = []
    /// One balancer per gateway address (each pooled connection goes to one address).
    let balancers: [UpstreamBalancer]
    /// Every slot the pool owns, opening or ready.
    var members: [UInt32: Member] = [:]
    /// Ready slots, the newest last (a client takes the newest: the least likely to have been
    /// closed by the peer).
    var ready: [(slot: UInt32, generation: UInt32)] = []
    /// Per gateway address: opens that failed in a row (reset by a success), which space the
    /// next attempts to that address out; one dead address does not hold up the others.
    private(set) var failures: [Int]
    /// Per gateway address: no open to it starts before this (loop clock).
    private(set) var retryAt: [Int64]

    init(route: GatewayRoute, loop index: Int) {
        key = WarmPoolKey(route)
        self.route = route
        balancers = route.gateways.map { UpstreamBalancer([$0], startingAt: index) }
        failures = Array(repeating: 0, count: route.gateways.count)
        retryAt = Array(repeating: 0, count: route.gateways.count)
    }

    /// The policy in force.
    var policy: WarmPoolPolicy? { route.pool }

    /// Forgets `slot`: retired, failed, or adopted by a client. The member it was, if it was one.
    @discardableResult
    func forget(_ slot: UInt32) -> Member? {
        ready.removeAll { $0.slot == slot }
        return members.removeValue(forKey: slot)
    }

    /// An open to address `i` failed or its peer refused one: the next opens to it wait
    /// `backoff(failures:)` from `now`.
    func backOff(now: Int64, address i: Int) {
        guard failures.indices.contains(i) else { return }
        failures[i] += 1
        retryAt[i] = now &+ Self.backoff(failures: failures[i])
    }

    /// A connection to address `i` became ready: its back-off starts over.
    func succeeded(address i: Int) {
        guard failures.indices.contains(i) else { return }
        failures[i] = 0
    }

    /// Whether an open to address `i` may start at `now`.
    func mayOpen(address i: Int, now: Int64) -> Bool {
        retryAt.indices.contains(i) && now >= retryAt[i]
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
