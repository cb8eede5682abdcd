import MeshgateKube
import MeshgateWire

/// One mirrored route as the Service plan needs it (docs/kubernetes.md, "Mirrored Services").
public struct MirroredServiceRoute: Hashable, Sendable {
    /// `namespace/<mirrored name>:port`, the route key.
    public var key: String
    /// The linked cluster the route leads to.
    public var cluster: String
    /// The remote service and port.
    public var target: ConnectTarget
    /// The SPIFFE URI the remote gateway must prove.
    public var identity: String
    /// The port of the route's local listener (the route's stable port), nil while it has none.
    public var listenerPort: UInt16?

    /// A route as the plan sees it.
    public init(key: String, cluster: String, target: ConnectTarget, identity: String, listenerPort: UInt16?) {
        self.key = key
        self.cluster = cluster
        self.target = target
        self.identity = identity
        self.listenerPort = listenerPort
    }

    /// `namespace` and mirrored name of the key (`namespace/name:port`).
    var serviceKey: (namespace: String, name: String) {
        let slash = key.firstIndex(of: "/") ?? key.startIndex
        let colon = key.lastIndex(of: ":") ?? key.endIndex
        let namespace = String(key[..<slash])
        let start = slash < key.endIndex ? key.index(after: slash) : slash
        return (namespace, start <= colon ? String(key[start..<colon]) : "")
    }
}

/// The Services `<svc>-<cluster>` the mirrored routes call for: one per mirrored name, type
/// ClusterIP, selecting the local gateway pods, one port per route that has a listener (`port` =
/// the remote port and its name, `targetPort` = the route's local listener port, TCP), with
/// `KubernetesNames` labels and annotations.
public struct MirroredServicePlan: Sendable, Equatable {
    /// The desired Services by `namespace/name`.
    public var services: [String: KubeService] = [:]
    /// Mirrored names whose routes exist but none has a listener yet: an existing Service of that
    /// name is kept as it is (neither written nor deleted).
    public var waiting: Set<String> = []

    /// An empty plan.
    public init() {}

    /// The plan for `routes`. `remote` holds each linked cluster's services by `namespace/name`
    /// (their port order and names; a port without a name is called `port-<number>` when the
    /// service has more than one port). `gatewaySelector` selects the local gateway pods.
    public static func build(
        routes: [MirroredServiceRoute], remote: [String: [String: DiscoveredService]], gatewaySelector: [String: String]
    ) -> MirroredServicePlan {
        var plan = MirroredServicePlan()
        let grouped = Dictionary(grouping: routes) { r -> String in
            let k = r.serviceKey
            return "\(k.namespace)/\(k.name)"
        }
        for (key, group) in grouped {
            let first = group.min { $0.key < $1.key }!
            let (namespace, name) = first.serviceKey
            let target = first.target
            let known = remote[first.cluster]?["\(target.namespace)/\(target.name)"]
            let portCount = known?.ports.count ?? Set(group.map(\.target.port)).count
            let order: (UInt16) -> Int = { port in known?.ports.firstIndex(of: port) ?? Int.max }
            let listening = group.filter { $0.listenerPort != nil && $0.cluster == first.cluster }
                .sorted { (order($0.target.port), $0.target.port) < (order($1.target.port), $1.target.port) }
            guard !listening.isEmpty else {
                plan.waiting.insert(key)
                continue
            }
            var seen = Set<UInt16>()
            var ports: [KubeService.Port] = []
            for r in listening where seen.insert(r.target.port).inserted {
                var portName: String? = nil
                if let known, let i = known.ports.firstIndex(of: r.target.port), !known.portName(at: i).isEmpty {
                    portName = known.portName(at: i)
                } else if portCount > 1 {
                    portName = "port-\(r.target.port)"
                }
                ports.append(
                    KubeService.Port(
                        name: portName, port: Int(r.target.port), targetPort: .int(Int(r.listenerPort!)), protocol: "TCP"))
            }
            let metadata = KubeObjectMeta(
                name: name, namespace: namespace, labels: KubernetesNames.labels(cluster: first.cluster),
                annotations: KubernetesNames.annotations(identity: first.identity, namespace: target.namespace, service: target.name))
            plan.services[key] = KubeService(
                metadata: metadata,
                spec: KubeService.Spec(type: "ClusterIP", selector: gatewaySelector, ports: ports, clusterIP: nil))
        }
        return plan
    }
}
