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
