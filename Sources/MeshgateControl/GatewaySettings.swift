import MeshgateProxy

/// The gateway's own certificate files (resolved to paths relative to nothing: absolute when the
/// config was loaded from a file).
public struct IdentityFiles: Hashable, Sendable {
    /// PEM: the leaf certificate followed by its chain.
    public let cert: String
    /// PEM: the leaf's private key.
    public let key: String
    /// PEM: the trust bundle (one or more anchors).
    public let trust: String
    /// Automatic renewal of the leaf (`identity.renew`), if configured.
    public let renew: IdentityRenewal?
    /// The session ticket key file the gateway's replicas share (`identity.ticketKeys`), if
    /// configured; without it the gateway's tickets are encrypted under generated keys.
    public let ticketKeys: String?

    /// Creates the value.
    public init(cert: String, key: String, trust: String, renew: IdentityRenewal? = nil, ticketKeys: String? = nil) {
        self.cert = cert
        self.key = key
        self.trust = trust
        self.renew = renew
        self.ticketKeys = ticketKeys
    }

    /// The files an identity reload reads: certificate, key, trust bundle and, if configured,
    /// the ticket key file. A change to any of them reloads the identity.
    public var paths: [String] { [cert, key, trust] + (ticketKeys.map { [$0] } ?? []) }
}

/// The mTLS port other gateways connect to.
public struct InboundSettings: Hashable, Sendable {
    /// Where the inbound listener binds (an IP literal and port).
    public let listen: HostPort
    /// How long a peer has, after the handshake, to send its transport header.
    public let headerTimeout: Duration
    /// How long a TLS handshake may take.
    public let handshakeTimeout: Duration
    /// How long a peer's warm-pool connection (one it opened ahead of a client, `links.pool` on
    /// its side) may wait for its transport header, instead of `headerTimeout`. Should exceed
    /// the peers' `links.pool.maxAge`.
    public let pooledIdleTimeout: Duration
    /// Who may use the port: gateway identities, plus identities a service's `allow:` names;
    /// `acceptWorkloads` accepts any identity the trust bundle vouches for. `discover` says who
    /// may open discover streams and how many each.
    public let policy: InboundPolicy

    /// Creates the value; defaults as documented.
    public init(
        listen: HostPort = GatewayDefaults.inboundListen, headerTimeout: Duration = GatewayDefaults.headerTimeout,
        handshakeTimeout: Duration = GatewayDefaults.handshakeTimeout, policy: InboundPolicy = InboundPolicy(),
        pooledIdleTimeout: Duration = GatewayDefaults.pooledIdleTimeout
    ) {
        self.listen = listen
        self.headerTimeout = headerTimeout
        self.handshakeTimeout = handshakeTimeout
        self.pooledIdleTimeout = pooledIdleTimeout
        self.policy = policy
    }
}

/// The listeners local applications connect to, one per route (static or mirrored).
public struct OutboundSettings: Hashable, Sendable {
    /// The IP address outbound listeners bind (no brackets for IPv6).
    public let bind: String
    /// The ports handed out to routes without a fixed `listen`.
    public let ports: PortRange
    /// When true, local clients must present mTLS on outbound listeners (routes may override).
    public let requireClientTLS: Bool
    /// Route key (`namespace/name:port`) → the port its listener always uses on `bind`
    /// (`outbound.pin`); no other route gets a pinned port.
    public let pins: [String: UInt16]
    /// How long a withdrawn route's port stays reserved for that route (`outbound.portHoldOff`).
    public let portHoldOff: Duration

    /// Creates the value; defaults as documented.
    public init(
        bind: String = GatewayDefaults.outboundBind, ports: PortRange = GatewayDefaults.outboundPorts,
        requireClientTLS: Bool = false, pins: [String: UInt16] = [:], portHoldOff: Duration = GatewayDefaults.portHoldOff
    ) {
        self.bind = bind
        self.ports = ports
        self.requireClientTLS = requireClientTLS
        self.pins = pins
        self.portHoldOff = portHoldOff
    }
}

/// The admin HTTP endpoint (metrics, readiness, status).
public struct AdminSettings: Hashable, Sendable {
    /// Where the admin server binds.
    public let listen: HostPort

    /// Creates the value; defaults as documented.
    public init(listen: HostPort = GatewayDefaults.adminListen) {
        self.listen = listen
    }
}

/// Resource limits and timeouts that apply to every connection.
public struct GatewayLimits: Hashable, Sendable {
    /// Open connections at most (both directions together), > 0.
    public let maxConnections: Int
    /// How long a TCP connect (to a remote gateway or a local endpoint) may take.
    public let connectTimeout: Duration
    /// A connection with no bytes either way for this long is closed.
    public let idleTimeout: Duration
    /// On shutdown, how long open connections may finish before they are closed.
    public let drainTimeout: Duration

    /// Creates the value; defaults as documented.
    public init(
        maxConnections: Int = GatewayDefaults.maxConnections, connectTimeout: Duration = GatewayDefaults.connectTimeout,
        idleTimeout: Duration = GatewayDefaults.idleTimeout, drainTimeout: Duration = GatewayDefaults.drainTimeout
    ) {
        self.maxConnections = maxConnections
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.drainTimeout = drainTimeout
    }
}

/// Which I/O backend the loops use (`auto`: io_uring when the kernel allows it, else epoll).
public enum IOBackendSetting: String, Hashable, Sendable, CaseIterable {
    case auto, uring, epoll
}

/// Whether established TLS connections are handed to kernel TLS (`auto`: when the kernel has it).
public enum KTLSSetting: String, Hashable, Sendable, CaseIterable {
    case auto, off
}
