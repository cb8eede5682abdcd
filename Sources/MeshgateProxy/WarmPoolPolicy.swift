import MeshgateLoop

/// How many established, idle mTLS connections a link keeps ready per remote gateway address
/// (`links.pool` in gateway.yaml), and how long each may wait for a client. A new local client
/// of a mirrored route then leaves on one of them, without a TCP or TLS round trip.
public struct WarmPoolPolicy: Hashable, Sendable {
    /// Idle connections per remote gateway address, over all loops (each loop keeps its share,
    /// rounded up). 0 turns the pool off.
    public let idle: Int
    /// A pooled connection no client took within this long is closed and replaced.
    public let maxAge: Duration

    /// The policy; `idle` 0 means no pool.
    public init(idle: Int, maxAge: Duration) {
        self.idle = idle
        self.maxAge = maxAge
    }

    /// How a ready pooled connection finds out that the path to the remote gateway went silent
    /// (a cable pulled, a firewall dropping, a peer host gone without a close): TCP keepalive
    /// probes after `keepaliveIdle` seconds of quiet, every `keepaliveInterval` seconds, and the
    /// connection is retired (`lost`) once nothing was acknowledged for `silentPathTimeout`
    /// milliseconds. A client then never adopts a connection that went silent more than that
    /// long ago. Cleared when a client adopts the connection, which then behaves as any other.
    /// The receiving gateway probes the peers' pooled connections it holds the same way, until
    /// their `connect` comes.
    public static let keepaliveIdle: Int32 = 5
    /// Seconds between keepalive probes.
    public static let keepaliveInterval: Int32 = 5
    /// Unanswered probes before the connection is given up (TCP_KEEPCNT).
    public static let keepaliveProbes: Int32 = 2
    /// Milliseconds without an acknowledgement after which the connection fails (TCP_USER_TIMEOUT).
    public static let silentPathTimeout: Int32 = 15_000

    /// Arms the probes above on a waiting pooled connection's socket, on either gateway's side
    /// (`Socket.clearKeepalive` undoes it when a client's connection takes it over).
    static func probeWhileWaiting(_ fd: Int32) {
        Socket.setKeepalive(
            fd, idle: keepaliveIdle, interval: keepaliveInterval, probes: keepaliveProbes, userTimeoutMilliseconds: silentPathTimeout)
    }

    /// Whether the pool keeps any connection.
    public var isEnabled: Bool { idle > 0 }

    /// The connections one of `loops` loops keeps per gateway address: its share of `idle`,
    /// rounded up (so every loop can serve a client from the pool).
    public func perLoop(loops: Int) -> Int {
        guard idle > 0 else { return 0 }
        let n = max(1, loops)
        return (idle + n - 1) / n
    }
}
