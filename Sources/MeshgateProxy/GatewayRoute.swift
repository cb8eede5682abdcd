import MeshgateLoop
import MeshgateNames
import MeshgateTLS
import MeshgateWire

/// One outbound route of a gateway: local apps connect to its listener, and each connection
/// goes over mTLS to one of the remote cluster's gateways, asking for `target`.
/// Immutable; a connection keeps the route it started with.
public final class GatewayRoute: Sendable {
    /// `namespace/name:port` of the local (mirrored) service; stable across reloads.
    public let key: String
    /// The remote cluster's name.
    public let cluster: String
    /// The remote gateways' addresses, resolved, tried round robin with fail-over.
    public let gateways: [SocketAddress]
    /// The identity the remote gateway must prove.
    public let expectedIdentity: WorkloadIdentity
    /// What the remote gateway is asked to connect to.
    public let target: ConnectTarget
    /// Local clients must present mTLS; their verified identity travels in the header.
    public let requireClientTLS: Bool
    /// A fixed local listen address, or nil to take a port from the outbound range.
    public let fixedListen: SocketAddress?
    /// False while the remote cluster is known to be down: connections are refused at once.
    public let alive: Bool
    /// The link's warm pool (`links.pool`), or nil: every client's connection makes its own
    /// TCP connect and TLS handshake. Routes of one cluster carry the same policy.
    public let pool: WarmPoolPolicy?

    /// A route; `gateways` may only be empty for a route that is not alive.
    public init(
        key: String, cluster: String, gateways: [SocketAddress], expectedIdentity: WorkloadIdentity, target: ConnectTarget,
        requireClientTLS: Bool = false, fixedListen: SocketAddress? = nil, alive: Bool = true, pool: WarmPoolPolicy? = nil
    ) {
        precondition(!gateways.isEmpty || !alive, "a live route needs at least one gateway address")
        self.key = key
        self.cluster = cluster
        self.gateways = gateways
        self.expectedIdentity = expectedIdentity
        self.target = target
        self.requireClientTLS = requireClientTLS
        self.fixedListen = fixedListen
        self.alive = alive
        self.pool = pool?.isEnabled == true ? pool : nil
    }

    /// Whether `other` describes the same route in every respect.
    public func sameAs(_ other: GatewayRoute) -> Bool {
        key == other.key && cluster == other.cluster && gateways == other.gateways
            && expectedIdentity == other.expectedIdentity && target == other.target
            && requireClientTLS == other.requireClientTLS && fixedListen == other.fixedListen && alive == other.alive
            && pool == other.pool
    }
}
