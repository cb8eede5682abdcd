import MeshgateNames
import MeshgateProxy
import MeshgateTLS
import MeshgateWire

/// One link as composition sees it: what its mirror knows, how many routes it may have, and
/// the warm pool its routes keep.
public struct MirrorSource: Sendable {
    public var cluster: String
    public var identity: WorkloadIdentity
    public var state: MirrorState
    /// `links.limits.routes` of the link.
    public var maxRoutes: Int
    /// `links.pool` of the link (its cluster's settings), carried by each of its routes; nil:
    /// its routes keep no pool.
    public var pool: WarmPoolPolicy?

    public init(
        cluster: String, identity: WorkloadIdentity, state: MirrorState, maxRoutes: Int = GatewayDefaults.linkRoutes,
        pool: WarmPoolPolicy? = nil
    ) {
        self.cluster = cluster
        self.identity = identity
        self.state = state
        self.maxRoutes = maxRoutes
        self.pool = pool
    }
}

/// An import composition refused.
public struct MirrorRefusal: Hashable, Sendable {
    public enum Kind: String, Sendable {
        /// The mirrored name is a local service's or a static route's.
        case taken
        /// Another link holds the mirrored name (or it is reserved for it).
        case conflict
        /// The link has `links.limits.routes` routes already.
        case routesLimit
    }

    /// The refused link.
    public var cluster: String
    public var kind: Kind
    /// The mirrored `namespace/name` (taken, conflict) or the route key (routesLimit).
    public var key: String
    /// What the log and the link's last error say.
    public var message: String

    /// The refusal without its text: what "the same refusal" means from one composition to the next.
    public var id: String { "\(cluster) \(kind.rawValue) \(key)" }
}

/// The mirrored routes of every link at one moment.
public struct MirrorComposition: Sendable {
    /// The routes, by key.
    public var routes: [String: GatewayRoute] = [:]
    /// Who holds each mirrored name now (to be kept for the next composition, and on disk).
    public var holders: [String: String] = [:]
    /// Every import refused, in a stable order.
    public var refusals: [MirrorRefusal] = []
}

extension MirroredRoutes {
    /// Composes the routes of all links (docs/links.md, "Who holds a mirrored name").
    ///
    /// - A name in `taken` (local services, static routes) is never mirrored.
    /// - A name in `holders` stays with its holder while the holder still exports it, and stays
    ///   reserved for it while the holder's link is present but has no snapshot yet; claims of
    ///   other links are refused as conflicts. A holder whose link is synced and no longer
    ///   exports the name, or (with `pruneAbsent`) whose link is gone, loses it.
    /// - A name with no holder goes to the claiming link whose cluster name sorts first.
    /// - Each link has at most `maxRoutes` routes: the keys in `held` (routes it had before)
    ///   first, then new ones in key order (service, then port as exported); the rest is refused.
    public static func compose(
        sources: [MirrorSource], taken: Set<String>, holders: [String: String], pruneAbsent: Bool, held: [String: String],
        requireClientTLS: Bool
    ) -> MirrorComposition {
        struct Claim {
            let source: Int
            let serviceKey: String
            let service: DiscoveredService
        }
        var out = MirrorComposition()
        let present = Dictionary(sources.enumerated().map { ($1.cluster, $0) }, uniquingKeysWith: { a, _ in a })
        var claims: [String: [Claim]] = [:]
        for (i, source) in sources.enumerated() {
            for key in source.state.services.keys.sorted() {
                let service = source.state.services[key]!
                let local = "\(service.namespace)/\(MirroredRouteName.of(service: service.name, cluster: source.cluster))"
                if taken.contains(local) {
                    out.refusals.append(
                        MirrorRefusal(
                            cluster: source.cluster, kind: .taken, key: local,
                            message:
                                "link \(source.cluster): service \(key) would be mirrored as \(local), which is already taken here (a local service or a static route); not mirrored"
                        ))
                    continue
                }
                claims[local, default: []].append(Claim(source: i, serviceKey: key, service: service))
            }
        }
        // Names with no claim now: kept only while reserved for a present link without a snapshot,
        // or (not pruning) for a link not known yet.
        for (local, cluster) in holders where claims[local] == nil && !taken.contains(local) {
            if let i = present[cluster] {
                if !sources[i].state.synced { out.holders[local] = cluster }
            } else if !pruneAbsent {
                out.holders[local] = cluster
            }
        }
        var won: [[Claim]] = Array(repeating: [], count: sources.count)
        for local in claims.keys.sorted() {
            let all = claims[local]!
            var winner: Claim? = nil
            var why = ""
            if let holder = holders[local], let i = present[holder] {
                if let own = all.first(where: { $0.source == i }) {
                    winner = own
                    why = "which link \(holder) holds (a mirrored name never moves to another link)"
                } else if !sources[i].state.synced {
                    out.holders[local] = holder
                    why = "which is reserved for link \(holder) (it held the name before; its snapshot has not arrived yet)"
                }
            } else if let holder = holders[local], !pruneAbsent {
                out.holders[local] = holder
                why = "which is reserved for link \(holder) (it held the name before; its link is not loaded yet)"
            }
            if winner == nil && why.isEmpty {
                winner = all.min { (sources[$0.source].cluster, $0.serviceKey) < (sources[$1.source].cluster, $1.serviceKey) }
                if let w = winner {
                    why =
                        "which link \(sources[w.source].cluster) takes (a name new to several links goes to the first cluster name in order)"
                }
            }
            if let winner {
                out.holders[local] = sources[winner.source].cluster
                won[winner.source].append(winner)
            }
            for claim in all where claim.source != winner?.source || claim.serviceKey != winner?.serviceKey {
                let cluster = sources[claim.source].cluster
                out.refusals.append(
                    MirrorRefusal(
                        cluster: cluster, kind: .conflict, key: local,
                        message: "link \(cluster): service \(claim.serviceKey) would be mirrored as \(local), \(why); refused"))
            }
        }
        for (i, source) in sources.enumerated() {
            let gateways = source.state.liveGateways
            let alive = source.state.alive && !gateways.isEmpty
            var candidates: [GatewayRoute] = []
            for claim in won[i].sorted(by: { $0.serviceKey < $1.serviceKey }) {
                let service = claim.service
                let localName = MirroredRouteName.of(service: service.name, cluster: source.cluster)
                for port in service.ports {
                    candidates.append(
                        GatewayRoute(
                            key: "\(service.namespace)/\(localName):\(port)", cluster: source.cluster,
                            gateways: alive ? gateways : [], expectedIdentity: source.identity,
                            target: ConnectTarget(namespace: service.namespace, name: service.name, port: port),
                            requireClientTLS: requireClientTLS, fixedListen: nil, alive: alive, pool: source.pool))
                }
            }
            let kept = candidates.filter { held[$0.key] == source.cluster }
            let fresh = candidates.filter { held[$0.key] != source.cluster }
            for (n, route) in (kept + fresh).enumerated() {
                if n < source.maxRoutes {
                    out.routes[route.key] = route
                } else {
                    out.refusals.append(
                        MirrorRefusal(
                            cluster: source.cluster, kind: .routesLimit, key: route.key,
                            message:
                                "link \(source.cluster): route \(route.key) refused: the link has \(source.maxRoutes) routes (links limits.routes); the routes it has keep their place"
                        ))
                }
            }
        }
        return out
    }
}
