import Foundation

/// What a running gateway reports about itself: the JSON of the admin endpoint's `/status`,
/// which `meshgate gateways` and `meshgate routes` read. Field by field in docs/operations.md.
///
/// Encode and decode it with `GatewayStatus.encoder()` / `GatewayStatus.decode(_:)`: dates are
/// ISO 8601 text.
public struct GatewayStatus: Codable, Equatable, Sendable {
    /// This cluster's name.
    public var cluster: String
    /// The trust domain all clusters share.
    public var trustDomain: String
    /// The gateway's identity and its certificate's validity.
    public var identity: IdentityStatus
    /// Whether `/ready` answers 200.
    public var ready: Bool
    /// Why not, when not ready (empty when ready).
    public var notReady: [String]
    /// The I/O backend the loops run on: `uring` or `epoll`.
    public var ioBackend: String
    /// Kernel TLS: `available`, `unavailable`, `off` or `none`.
    public var kernelTLS: String
    /// The data plane's own words about kernel TLS.
    public var kernelTLSDetail: String
    /// The bound inbound mTLS address.
    public var inbound: String
    /// When `start()` finished, and since when the gateway drains (nil: not draining).
    public var startedAt: Date?
    public var drainingSince: Date?
    /// The route table the loops run with.
    public var routeTable: RouteTableStatus
    /// This cluster's own services (the registry).
    public var services: ServiceCounts
    /// One entry per linked cluster (a mirror), by cluster name.
    public var links: [LinkStatus]
    /// One entry per published route (static and mirrored), by key.
    public var routes: [RouteStatus]
    /// The data plane's global counters (`ProxyStatsSnapshot`, by `ProxyCounters.Name.key`).
    public var counters: [String: UInt64]
    /// Where the registry comes from and how fresh it is (nil from older gateways).
    public var registry: RegistrySourceStatus? = nil
    /// The Kubernetes mirror writer (`mirror.kubernetes.services`; nil when off, and from older gateways).
    public var mirrorServices: MirrorServicesStatus? = nil

    public init(
        cluster: String, trustDomain: String, identity: IdentityStatus, ready: Bool, notReady: [String], ioBackend: String,
        kernelTLS: String, kernelTLSDetail: String, inbound: String, startedAt: Date?, drainingSince: Date?,
        routeTable: RouteTableStatus, services: ServiceCounts, links: [LinkStatus], routes: [RouteStatus],
        counters: [String: UInt64]
    ) {
        self.cluster = cluster
        self.trustDomain = trustDomain
        self.identity = identity
        self.ready = ready
        self.notReady = notReady
        self.ioBackend = ioBackend
        self.kernelTLS = kernelTLS
        self.kernelTLSDetail = kernelTLSDetail
        self.inbound = inbound
        self.startedAt = startedAt
        self.drainingSince = drainingSince
        self.routeTable = routeTable
        self.services = services
        self.links = links
        self.routes = routes
        self.counters = counters
    }

    /// The gateway's identity as its loaded certificate names it.
    public struct IdentityStatus: Codable, Equatable, Sendable {
        /// `spiffe://<trust-domain>/ns/meshgate-<cluster>/sa/gateway` (from the certificate's
        /// URI SAN; the configured identity when the certificate cannot be read).
        public var name: String
        /// The certificate in use (the first of `identity.cert`).
        public var certificate: String
        /// The leaf certificate's notAfter (nil when the file could not be read).
        public var notAfter: Date?
        /// Identity reloads refused since start (the new files failed the checks of
        /// `meshgate check`; the identity above stayed in use). Nil from older gateways.
        public var reloadsRefused: Int?
        /// The last refusal's reasons (`file: field: message`) and when.
        public var lastReloadRefusal: String?
        public var lastReloadRefusalAt: Date?
        /// Seconds until notAfter (negative once expired).
        public var secondsLeft: Double?
        /// Set when less than an hour is left (the gateway stays ready until it expires).
        public var warning: String?
        /// Automatic renewal (`identity.renew`), when configured.
        public var renewal: RenewalStatus?

        public init(
            name: String, certificate: String, notAfter: Date?, reloadsRefused: Int? = nil, lastReloadRefusal: String? = nil,
            lastReloadRefusalAt: Date? = nil, secondsLeft: Double? = nil, warning: String? = nil, renewal: RenewalStatus? = nil
        ) {
            self.name = name
            self.certificate = certificate
            self.notAfter = notAfter
            self.reloadsRefused = reloadsRefused
            self.lastReloadRefusal = lastReloadRefusal
            self.lastReloadRefusalAt = lastReloadRefusalAt
            self.secondsLeft = secondsLeft
            self.warning = warning
            self.renewal = renewal
        }
    }

    /// The current route table.
    public struct RouteTableStatus: Codable, Equatable, Sendable {
        /// The generation last published (0: nothing published yet).
        public var generation: UInt64
        /// The lowest generation any loop runs with.
        public var appliedByAllLoops: UInt64

        public init(generation: UInt64, appliedByAllLoops: UInt64) {
            self.generation = generation
            self.appliedByAllLoops = appliedByAllLoops
        }
    }

    /// How many local services the registry holds.
    public struct ServiceCounts: Codable, Equatable, Sendable {
        public var count: Int
        public var exported: Int

        public init(count: Int, exported: Int) {
            self.count = count
            self.exported = exported
        }
    }
}

/// One link (a linked cluster's mirror) in `/status`.
public struct LinkStatus: Codable, Equatable, Sendable {
    /// The linked cluster.
    public var cluster: String
    /// Its gateway answered at least one of the last `failureThreshold` probe rounds.
    public var alive: Bool
    /// The discover stream is connected.
    public var streaming: Bool
    /// A whole snapshot of its exports has arrived at least once.
    public var synced: Bool
    /// Its services mirrored here (as last known).
    public var services: Int
    /// The gateway addresses of its bundle, as written.
    public var gateways: [String]
    /// The addresses that answered the last probe round.
    public var liveGateways: [String]
    /// Round trips of its recent probes.
    public var latency: Latency
    /// Probes since its mirror started (one per address and round).
    public var probes: Probes
    /// Discover streams opened since its mirror started.
    public var streamsOpened: Int
    /// The last probe or stream failure or refused import, and when it happened.
    public var lastError: String?
    public var lastErrorAt: Date?
    /// Imports of this link refused (name conflicts, over its limits). Nil from older gateways.
    public var refusals: Refusals?
    /// Its warm pool (`links.pool`), summed over the loops. Nil when the data plane gave no
    /// counts (and from older gateways); all zero when the link keeps no pool.
    public var pool: Pool? = nil

    public init(
        cluster: String, alive: Bool, streaming: Bool, synced: Bool, services: Int, gateways: [String], liveGateways: [String],
        latency: Latency, probes: Probes, streamsOpened: Int, lastError: String?, lastErrorAt: Date?, refusals: Refusals? = nil
    ) {
        self.cluster = cluster
        self.alive = alive
        self.streaming = streaming
        self.synced = synced
        self.services = services
        self.gateways = gateways
        self.liveGateways = liveGateways
        self.latency = latency
        self.probes = probes
        self.streamsOpened = streamsOpened
        self.lastError = lastError
        self.lastErrorAt = lastErrorAt
        self.refusals = refusals
    }

    /// A link's warm pool: connections now, and events since the gateway started (the
    /// `gateway_pool_*` counters of this link alone).
    public struct Pool: Codable, Equatable, Sendable {
        /// Ready for a client, and connecting or handshaking.
        public var idle: UInt64
        public var opening: UInt64
        /// Opened (ready), taken by a client, and clients that found none ready.
        public var opened: UInt64
        public var hits: UInt64
        public var misses: UInt64
        /// Retired: past `maxAge`, closed by the peer, lost on a silent path, drained.
        public var expired: UInt64
        public var closedByPeer: UInt64
        public var lost: UInt64
        public var drained: UInt64
        /// Opens whose connect or handshake failed.
        public var failed: UInt64

        public init(
            idle: UInt64, opening: UInt64, opened: UInt64, hits: UInt64, misses: UInt64, expired: UInt64, closedByPeer: UInt64,
            lost: UInt64, drained: UInt64, failed: UInt64
        ) {
            self.idle = idle
            self.opening = opening
            self.opened = opened
            self.hits = hits
            self.misses = misses
            self.expired = expired
            self.closedByPeer = closedByPeer
            self.lost = lost
            self.drained = drained
            self.failed = failed
        }
    }

    /// Imports refused: counts since the link's mirror started, and what is refused now.
    public struct Refusals: Codable, Equatable, Sendable {
        /// Services whose mirrored name another link holds (or a local service or static route has).
        public var conflicts: Int
        /// Services refused over `links.limits.services`.
        public var services: Int
        /// Routes refused over `links.limits.routes`.
        public var routes: Int
        /// The refusals in force now, one line each (name conflicts, then refused routes; at most 50).
        public var current: [String]

        public init(conflicts: Int, services: Int, routes: Int, current: [String]) {
            self.conflicts = conflicts
            self.services = services
            self.routes = routes
            self.current = current
        }
    }

    /// Probe round trips in milliseconds: quantiles of the recent ones (the last 64 answered)
    /// and the last one. Nil before any probe was answered.
    public struct Latency: Codable, Equatable, Sendable {
        public var p50Ms: Double?
        public var p99Ms: Double?
        public var lastMs: Double?

        public init(p50Ms: Double?, p99Ms: Double?, lastMs: Double?) {
            self.p50Ms = p50Ms
            self.p99Ms = p99Ms
            self.lastMs = lastMs
        }
    }

    /// Answered and failed probes.
    public struct Probes: Codable, Equatable, Sendable {
        public var answered: Int
        public var failed: Int

        public init(answered: Int, failed: Int) {
            self.answered = answered
            self.failed = failed
        }
    }
}

/// One outbound route in `/status`.
public struct RouteStatus: Codable, Equatable, Sendable {
    /// Static routes come from gateway.yaml; mirrored ones from a link.
    public enum Source: String, Codable, Sendable {
        case `static`
        case mirror
    }

    /// Up: new connections are carried; down: refused at once (the link is down, or no gateway
    /// address resolved).
    public enum State: String, Codable, Sendable {
        case up
        case down
    }

    /// `namespace/name:port`.
    public var key: String
    public var namespace: String
    public var name: String
    public var port: UInt16
    /// Where the route's listener is bound.
    public var listen: String
    /// The remote cluster.
    public var cluster: String
    /// The remote service, `namespace/name:port`.
    public var target: String
    public var source: Source
    public var state: State
    /// Connections open now on the route's name (all its ports; the data plane counts outbound
    /// traffic by `namespace/name`); nil when the data plane gave no traffic figures.
    public var active: Int64?
    /// A mirrored route's remote port name, as the linked gateway sent it on the discover stream;
    /// nil when the port is unnamed, for static routes, and from older gateways.
    public var portName: String?

    public init(
        key: String, namespace: String, name: String, port: UInt16, listen: String, cluster: String, target: String,
        source: Source, state: State, active: Int64?, portName: String? = nil
    ) {
        self.key = key
        self.namespace = namespace
        self.name = name
        self.port = port
        self.listen = listen
        self.cluster = cluster
        self.target = target
        self.source = source
        self.state = state
        self.active = active
        self.portName = portName
    }
}

extension GatewayStatus {
    /// A JSON encoder for status values: ISO 8601 dates, sorted keys, pretty-printed when asked.
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    /// A JSON decoder for status values (ISO 8601 dates).
    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }

    /// Decodes `/status` JSON.
    public static func decode(_ data: Data) throws -> GatewayStatus {
        try decoder().decode(GatewayStatus.self, from: data)
    }
}
