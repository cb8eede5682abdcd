import MeshgateNames
import MeshgateWire

/// Where a route's connections go inside the remote cluster: the remote service's namespace,
/// name and port, as the route's `connect` headers name it.
public typealias RouteTarget = ConnectTarget

/// A route written in the gateway config: a local name and port that lead, through a remote
/// cluster's gateways, to a service there.
public struct StaticRoute: Hashable, Sendable {
    /// The local service name (a DNS label).
    public let name: String
    /// The local namespace (a DNS label).
    public let namespace: String
    /// The port local applications use.
    public let port: UInt16
    /// The remote cluster's name.
    public let cluster: String
    /// The remote cluster's gateway addresses (at least one; host names allowed).
    public let gateways: [HostPort]
    /// The identity the remote gateways must present.
    public let identity: WorkloadIdentity
    /// The service in the remote cluster.
    public let target: RouteTarget
    /// A fixed local listen address, or nil to take a port from `outbound.ports`.
    public let listen: HostPort?
    /// Whether local clients must present mTLS (the route's own setting, else `outbound.requireClientTLS`).
    public let requireClientTLS: Bool
    /// The line of the route in its file (0 when built in code), for messages.
    public let line: Int

    /// Creates the value.
    public init(
        name: String, namespace: String, port: UInt16, cluster: String, gateways: [HostPort], identity: WorkloadIdentity,
        target: RouteTarget, listen: HostPort?, requireClientTLS: Bool, line: Int = 0
    ) {
        self.name = name
        self.namespace = namespace
        self.port = port
        self.cluster = cluster
        self.gateways = gateways
        self.identity = identity
        self.target = target
        self.listen = listen
        self.requireClientTLS = requireClientTLS
        self.line = line
    }
}
