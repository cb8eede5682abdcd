import Atomics

/// One linked cluster's warm-pool counts, summed over every loop and every pool of that cluster
/// (`/status` shows them with the link). Each pool event or gauge change is one atomic add here,
/// besides the loop's own counter: a few per pooled connection, none per byte.
final class PoolSeries: Sendable {
    /// The counters kept per cluster: the originating side's (peers' pooled connections held
    /// here are counted globally only, by the loops).
    static let names: [ProxyCounters.Name] = [
        .gatewayPoolIdle, .gatewayPoolOpening, .gatewayPoolOpened, .gatewayPoolHits, .gatewayPoolMisses,
        .gatewayPoolExpired, .gatewayPoolClosedByPeer, .gatewayPoolLost, .gatewayPoolDrained, .gatewayPoolFailed,
    ]
    let cluster: String
    private let values: [ManagedAtomic<UInt64>] = PoolSeries.names.map { _ in ManagedAtomic(0) }

    init(cluster: String) { self.cluster = cluster }

    /// Adds 1 to `name` (wrapping back for a gauge's `subtract`); names it does not keep are ignored.
    func add(_ name: ProxyCounters.Name, subtract: Bool = false) {
        guard let i = Self.names.firstIndex(of: name) else { return }
        if subtract {
            values[i].wrappingDecrement(ordering: .relaxed)
        } else {
            values[i].wrappingIncrement(ordering: .relaxed)
        }
    }

    /// The counts now, by counter.
    var counts: PoolCounts {
        var c = PoolCounts()
        for (i, name) in Self.names.enumerated() { c.values[name] = values[i].load(ordering: .relaxed) }
        return c
    }
}

/// A linked cluster's warm-pool counts at one moment (see `PoolSeries`).
public struct PoolCounts: Sendable, Equatable {
    /// By counter (`gatewayPoolIdle` … `gatewayPoolFailed`).
    public var values: [ProxyCounters.Name: UInt64] = [:]

    public init() {}

    /// One counter, 0 when absent.
    public subscript(_ name: ProxyCounters.Name) -> UInt64 { values[name] ?? 0 }
}
