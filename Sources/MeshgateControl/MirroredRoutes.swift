import MeshgateLoop
import MeshgateNames
import MeshgateProxy
import MeshgateTLS
import MeshgateWire

/// Turns what mirrors know into outbound routes: each remote service `NAME` of namespace `NS`
/// in cluster `C` becomes, per port, route `NS/<MirroredRouteName>:PORT` whose target is
/// `NS/NAME:PORT` behind C's gateways. A mirrored name that is already taken (a local
/// service, a static route, or another link's mirrored service) is refused, never shadowed.
/// The gateway composes all links with `compose` (MirrorComposition.swift): who holds a name
/// shared by several links, and each link's route cap.
public enum MirroredRoutes {
    /// The routes of one mirror, in isolation (no holders, no route cap); `taken` holds the
    /// `namespace/name` pairs already in use and
    /// grows by the ones this mirror takes; `refused` receives one message per refused service.
    /// Every route carries `pool`, the link's `links.pool` (nil: no pool).
    public static func routes(
        cluster: String, identity: WorkloadIdentity, state: MirrorState, requireClientTLS: Bool, taken: inout Set<String>,
        pool: WarmPoolPolicy? = nil, refused: (String) -> Void
    ) -> [GatewayRoute] {
        var out: [GatewayRoute] = []
        let gateways = state.liveGateways
        let alive = state.alive && !gateways.isEmpty
        for key in state.services.keys.sorted() {
            let service = state.services[key]!
            let local = MirroredRouteName.of(service: service.name, cluster: cluster)
            let localKey = "\(service.namespace)/\(local)"
            guard taken.insert(localKey).inserted else {
                refused("link \(cluster): service \(key) would be mirrored as \(localKey), which is already taken here (a local service, a static route or another link's service); not mirrored")
                continue
            }
            for port in service.ports {
                out.append(
                    GatewayRoute(
                        key: "\(localKey):\(port)", cluster: cluster, gateways: alive ? gateways : [],
                        expectedIdentity: identity,
                        target: ConnectTarget(namespace: service.namespace, name: service.name, port: port),
                        requireClientTLS: requireClientTLS, fixedListen: nil, alive: alive, pool: pool))
            }
        }
        return out
    }
}
