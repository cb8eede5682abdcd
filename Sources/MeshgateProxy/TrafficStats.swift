import Atomics
import Foundation

/// Which way a gateway connection goes.
public enum TrafficDirection: String, Sendable, Hashable, CaseIterable {
    /// From another cluster's gateway to a local service.
    case inbound
    /// From a local client through a route to another cluster.
    case outbound
}

/// How a gateway connection ended (a bounded set: metric label values).
public enum TrafficResult: String, Sendable, Hashable, CaseIterable {
    /// Both directions ended cleanly.
    case ok
    /// Reset or failed midway (by either side, or a connect that found no endpoint).
    case reset
    /// Refused by the gateway before any payload moved (reason in `TrafficRefusal`).
    case refused
    /// Outbound, refused at once because the route's link is down.
    case linkDown = "link_down"
}

/// The labels of one traffic series: bounded by the routes and services configured, never per
/// connection. Outbound: `cluster` is the route's remote cluster and `service` the route's local
/// name (`namespace/name`); inbound: `cluster` is the peer gateway's cluster (from its identity,
/// `unknown` when it is not a gateway identity) and `service` the target (`namespace/name`, or
/// `unknown` before a header named one).
public struct TrafficKey: Sendable, Hashable {
    public let direction: TrafficDirection
    public let cluster: String
    public let service: String

    public init(direction: TrafficDirection, cluster: String, service: String) {
        self.direction = direction
        self.cluster = cluster
        self.service = service
    }
}

/// What a series has counted so far.
public struct TrafficCounts: Sendable, Equatable {
    /// Ended connections by result.
    public var ended: [TrafficResult: UInt64] = [:]
    /// Refused connections by refusal reason (`gateway_refused_<reason>` keys without the prefix).
    public var refusedByReason: [String: UInt64] = [:]
    /// Bytes from the connecting side towards the other, and back.
    public var bytesIn: UInt64 = 0
    public var bytesOut: UInt64 = 0
    /// Open now.
    public var active: Int64 = 0

    public init() {}
}

/// A fixed-bucket latency histogram (seconds), as Prometheus exposes one.
public struct LatencyHistogram: Sendable, Equatable {
    /// Upper bounds in seconds, increasing; the last bucket (+Inf) is implied.
    public let bounds: [Double]
    /// Observations per bucket: `counts[i]` for `<= bounds[i]`, `counts[bounds.count]` for the rest
    /// (not cumulative).
    public var counts: [UInt64]
    /// Sum of all observations, seconds.
    public var sum: Double

    public init(bounds: [Double], counts: [UInt64], sum: Double) {
        self.bounds = bounds
        self.counts = counts
        self.sum = sum
    }

    /// The default bounds: 100 µs to 10 s.
    public static let defaultBounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
}

/// What the data plane has counted, by series, plus its latency histograms.
public struct TrafficSnapshot: Sendable {
    /// Counts by series.
    public var series: [TrafficKey: TrafficCounts]
    /// TLS handshake durations (both sides, both directions).
    public var handshake: LatencyHistogram
    /// TCP connect durations (to remote gateways and local endpoints).
    public var connect: LatencyHistogram
    /// Connections by the path that carried their payload: `ktls`, `userspace` (meshgate's TLS
    /// record layer or OpenSSL), `splice` (plain TCP both sides).
    public var paths: [String: UInt64]
    /// Warm-pool counts by linked cluster (the originating side's).
    public var pools: [String: PoolCounts] = [:]
}
