import MeshgateLoop

/// Everything one `meshgate proxy` process needs to run, already validated and resolved.
public struct ProxyConfiguration: Sendable {
    /// Where clients connect.
    public var listen: SocketAddress
    /// Where connections go, tried round robin with fail-over.
    public var upstreams: [SocketAddress]
    /// Loop threads (one listener each, SO_REUSEPORT).
    public var threads: Int
    /// Backend choice (`auto` picks io_uring when the kernel allows it).
    public var backend: IOBackendChoice
    /// Whether each loop pins itself to a CPU of its own (`off` by default).
    public var cpuAffinity: CPUAffinity
    /// Upper bound on one connect attempt.
    public var connectTimeout: Duration
    /// A connection with no bytes moving for this long is closed.
    public var idleTimeout: Duration
    /// Total open client connections across loops; beyond it accepting pauses.
    public var maxConnections: Int
    /// Capacity requested for each splice pipe (F_SETPIPE_SZ); 0 keeps the kernel default.
    public var pipeSize: Int
    /// Pipes one loop may hold at once; beyond it a direction uses a user-space buffer.
    public var maxPipesPerLoop: Int
    /// Move bytes with splice (true) or through user-space buffers (false).
    public var splice: Bool
    /// TLS on either side (none by default).
    public var tls: ProxyTLSConfiguration
    /// Gateway mode: the listener is the inbound mTLS port, outbound routes come from the
    /// publisher, and `upstreams` is unused (nil: `meshgate proxy`).
    public var gateway: GatewaySettings?

    public init(
        listen: SocketAddress,
        upstreams: [SocketAddress],
        threads: Int = 1,
        backend: IOBackendChoice = .auto,
        cpuAffinity: CPUAffinity = .off,
        connectTimeout: Duration = .seconds(5),
        idleTimeout: Duration = .seconds(3600),
        maxConnections: Int = 100_000,
        pipeSize: Int = 0,
        maxPipesPerLoop: Int = 4096,
        splice: Bool = true,
        tls: ProxyTLSConfiguration = ProxyTLSConfiguration(),
        gateway: GatewaySettings? = nil
    ) {
        self.listen = listen
        self.upstreams = upstreams
        self.threads = threads
        self.backend = backend
        self.cpuAffinity = cpuAffinity
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.pipeSize = pipeSize
        self.maxPipesPerLoop = maxPipesPerLoop
        self.splice = splice
        self.tls = tls
        self.gateway = gateway
    }
}

/// What gateway mode adds to a proxy configuration.
public struct GatewaySettings: Sendable {
    /// The route table channel (routes, services, credentials).
    public var publisher: RouteTablePublisher
    /// A client must send its whole transport header within this long after TLS.
    public var headerTimeout: Duration
    /// Serves `discover` streams (MeshgateDiscovery's `DiscoveryServer`); nil refuses them (`unsupported_kind`).
    public var discovery: (any DiscoverStreamHandler)?
    /// Who may connect to services (the discover part is the discovery server's).
    public var inbound: InboundPolicy
    /// A peer's warm-pool connection (it sent a `pooled` header) may wait this long for its
    /// `connect` header, instead of `headerTimeout`.
    public var pooledIdleTimeout: Duration

    public init(
        publisher: RouteTablePublisher, headerTimeout: Duration = .seconds(5), discovery: (any DiscoverStreamHandler)? = nil,
        inbound: InboundPolicy = InboundPolicy(), pooledIdleTimeout: Duration = .seconds(120)
    ) {
        self.publisher = publisher
        self.headerTimeout = headerTimeout
        self.pooledIdleTimeout = pooledIdleTimeout
        self.discovery = discovery
        self.inbound = inbound
    }
}
