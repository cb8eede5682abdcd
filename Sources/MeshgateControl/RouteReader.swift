import MeshgateNames
/// Reads one item of `routes:` into a `StaticRoute`, reporting what is wrong with it.
struct RouteReader: ConfigItemReader {
    static let keys = ["name", "namespace", "port", "cluster", "gateways", "identity", "target", "listen", "requireClientTLS"]

    let trustDomain: String
    let requireClientTLS: Bool
    let diagnostics: Diagnostics

    /// The route made of `map`'s fields, or nil when one it needs is missing (errors are reported).
    func item(of map: YAMLMap, line: Int) -> StaticRoute? {
        let name = map.value("name", required: true)?.parsed(GatewayConfigReader.label)
        let namespace = map.value("namespace", required: true)?.parsed(GatewayConfigReader.label)
        let port = map.value("port", required: true)?.port
        let cluster = map.value("cluster", required: true)?.parsed(GatewayConfigReader.label)
        let gateways = readGateways(map)
        let target = readTarget(map, namespace: namespace, name: name, port: port)
        let listen = map.value("listen")?.parsed(ListenAddress.parse)
        let clientTLS = map.value("requireClientTLS")?.bool ?? requireClientTLS
        var identity: WorkloadIdentity?
        if let written = map.value("identity") {
            identity = written.parsed(WorkloadIdentity.parse)
        } else if let cluster {
            identity = WorkloadIdentity.gateway(cluster: cluster, trustDomain: trustDomain)
            if identity == nil {
                diagnostics.report(
                    line: map.line(of: "cluster"), field: map.field("identity"),
                    "cannot derive the default identity from cluster '\(cluster)' (namespace meshgate-\(cluster) is too long); write identity"
                )
            }
        }
        guard let name, let namespace, let port, let cluster, let identity, let target else { return nil }
        return StaticRoute(
            name: name, namespace: namespace, port: port, cluster: cluster, gateways: gateways, identity: identity,
            target: target, listen: listen, requireClientTLS: clientTLS, line: line)
    }

    private func readGateways(_ map: YAMLMap) -> [HostPort] {
        guard let value = map.value("gateways", required: true), let items = value.list else { return [] }
        if items.isEmpty { value.report("needs at least one gateway address") }
        return items.distinctValues("gateway") { $0.parsed(HostPort.parse) }
    }

    private func readTarget(_ map: YAMLMap, namespace: String?, name: String?, port: UInt16?) -> RouteTarget? {
        let target = map.value("target")?.map(known: ["namespace", "name", "port"])
        let targetNamespace = target?.value("namespace")?.parsed(GatewayConfigReader.label) ?? namespace
        let targetName = target?.value("name")?.parsed(GatewayConfigReader.label) ?? name
        let targetPort = target?.value("port")?.port ?? port
        guard let targetNamespace, let targetName, let targetPort else { return nil }
        return RouteTarget(namespace: targetNamespace, name: targetName, port: targetPort)
    }
}
