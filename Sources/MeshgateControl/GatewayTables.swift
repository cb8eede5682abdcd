import MeshgateLoop
import MeshgateNames
import MeshgateProxy
import MeshgateTLS
import MeshgateWire

/// Turns configuration values into the data plane's immutable route and service values,
/// resolving host names on the way (on the control side: loops never resolve).
public enum GatewayTables {
    /// The route key of a static route: `namespace/name:port`.
    public static func key(_ route: StaticRoute) -> String { "\(route.namespace)/\(route.name):\(route.port)" }

    /// A data-plane route for a static one. Gateway names that do not resolve are left out
    /// (reported through `problem`); with none left the route is published as not alive, so
    /// its listener refuses at once instead of hanging. `pool`: the warm pool of the route's
    /// cluster (`links.pool`, or its `links.clusters` override), nil without a `links:` section.
    public static func route(_ r: StaticRoute, bind: String, pool: WarmPoolPolicy? = nil, problem: (String) -> Void) -> GatewayRoute {
        var gateways: [SocketAddress] = []
        for g in r.gateways {
            do {
                gateways.append(try SocketAddress.resolve(host: g.host, port: g.port))
            } catch {
                problem("route \(key(r)): gateway \(g) does not resolve: \(error)")
            }
        }
        var fixed: SocketAddress? = nil
        if let listen = r.listen {
            do {
                fixed = try SocketAddress.resolve(host: listen.host, port: listen.port)
            } catch {
                problem("route \(key(r)): listen address \(listen) does not resolve: \(error)")
            }
        }
        return GatewayRoute(
            key: key(r), cluster: r.cluster, gateways: gateways, expectedIdentity: r.identity,
            target: r.target,
            requireClientTLS: r.requireClientTLS, fixedListen: fixed, alive: !gateways.isEmpty, pool: pool)
    }

    /// A data-plane service for a registered one: endpoints by service port, resolved.
    public static func service(_ s: RegisteredService, problem: (String) -> Void) -> ExportedService {
        var endpoints: [UInt16: [SocketAddress]] = [:]
        for p in s.ports {
            var list: [SocketAddress] = []
            for e in s.endpoints(port: p.port) ?? [] {
                do {
                    list.append(try SocketAddress.resolve(host: e.host, port: e.port))
                } catch {
                    problem("service \(s.namespace)/\(s.name): endpoint \(e) does not resolve: \(error)")
                }
            }
            endpoints[p.port] = list
        }
        let allowed = s.allow.map { Set($0.compactMap { WorkloadIdentity($0) }) }
        var names: [UInt16: String] = [:]
        for p in s.ports { if let n = p.name, !n.isEmpty { names[p.port] = n } }
        return ExportedService(
            namespace: s.namespace, name: s.name, exported: s.exported, allowed: allowed, endpoints: endpoints, portNames: names)
    }
}
