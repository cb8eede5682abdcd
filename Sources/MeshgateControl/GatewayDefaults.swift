import Foundation
import MeshgateProxy

/// The values a gateway config gets for keys it leaves out.
public enum GatewayDefaults {
    /// `cluster.local`.
    public static let trustDomain = "cluster.local"
    /// `0.0.0.0:4143`.
    public static let inboundListen = HostPort(host: "0.0.0.0", port: 4143)
    /// 5 s.
    public static let headerTimeout: Duration = .seconds(5)
    /// 2 min: how long a peer's warm-pool connection may wait for its connect header
    /// (`inbound.pooledIdleTimeout`); above the peers' `links.pool.maxAge`.
    public static let pooledIdleTimeout: Duration = .seconds(120)
    /// 10 s.
    public static let handshakeTimeout: Duration = .seconds(10)
    /// `127.0.0.1`.
    public static let outboundBind = "127.0.0.1"
    /// 4200–4999.
    public static let outboundPorts = PortRange(lower: 4200, upper: 4999)
    /// 10 min: how long a withdrawn route's port stays reserved for it (`outbound.portHoldOff`).
    public static let portHoldOff: Duration = .seconds(600)
    /// `127.0.0.1:4191` (the port of Linkerd's proxy admin server, which serves the same routes).
    public static let adminListen = HostPort(host: "127.0.0.1", port: 4191)
    /// 100 000.
    public static let maxConnections = 100_000
    /// 5 s.
    public static let connectTimeout: Duration = .seconds(5)
    /// 1 h.
    public static let idleTimeout: Duration = .seconds(3600)
    /// 30 s.
    public static let drainTimeout: Duration = .seconds(30)
    /// The number of active processor cores.
    public static var loops: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
    /// The most loops a config may ask for.
    public static let maxLoops = 1024
    /// 3 s: how often a link's mirror probes the linked gateway (`links.probe.interval`).
    public static let probeInterval: Duration = .seconds(3)
    /// 1 s: how long a link probe may go unanswered before it fails (`links.probe.timeout`).
    public static let probeTimeout: Duration = .seconds(1)
    /// 3: consecutive failed probes before a link is down (`links.probe.failureThreshold`).
    public static let probeFailureThreshold = 3
    /// 1000: remote services one link may mirror (`links.limits.services`).
    public static let linkServices = 1000
    /// 100: sustained discovery updates per second from one link (`links.limits.updatesPerSecond`).
    public static let linkUpdatesPerSecond = 100
    /// 256: mirrored routes (service ports) one link may have (`links.limits.routes`).
    public static let linkRoutes = 256
    /// 4: idle warm connections a link keeps per remote gateway address (`links.pool.idle`).
    public static let poolIdle = 4
    /// 60 s: how long a warm connection may wait for a client before it is replaced
    /// (`links.pool.maxAge`).
    public static let poolMaxAge: Duration = .seconds(60)
    /// `links.pool` left out: `poolIdle` connections per address, each kept `poolMaxAge` at most.
    public static let warmPool = WarmPoolPolicy(idle: poolIdle, maxAge: poolMaxAge)
}
