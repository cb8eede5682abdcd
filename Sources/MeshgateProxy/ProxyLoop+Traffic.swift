import MeshgateLoop
import MeshgateNames
import MeshgateTLS

/// Gateway traffic accounting: which series a connection counts in, and how it ended. A few
/// atomic operations per connection, none per byte.
extension ProxyLoop {
    /// The series for `key`, from this loop's cache or the shared registry.
    func trafficSeries(_ key: TrafficKey) -> TrafficSeries {
        if let s = trafficCache[key] { return s }
        let s = shared.trafficSeries.series(for: key)
        trafficCache[key] = s
        return s
    }

    /// Counts `conn` as open in the series `key` (once: later calls keep the first series).
    func attachTraffic(_ conn: UnsafeMutablePointer<Connection>, _ key: TrafficKey) {
        guard conn.pointee.traffic == nil else { return }
        let s = trafficSeries(key)
        s.active.wrappingIncrement(ordering: .relaxed)
        conn.pointee.traffic = s
    }

    /// The series of an outbound connection on `route`: the route's cluster and local name.
    static func outboundKey(_ route: GatewayRoute) -> TrafficKey {
        let name = route.key.lastIndex(of: ":").map { String(route.key[..<$0]) } ?? route.key
        return TrafficKey(direction: .outbound, cluster: route.cluster, service: name)
    }

    /// The cluster of a peer gateway, from its identity (`…/ns/meshgate-<cluster>/sa/gateway`).
    static func peerCluster(_ identity: WorkloadIdentity?) -> String {
        guard let identity, identity.serviceAccount == "gateway", identity.namespace.hasPrefix("meshgate-") else { return "unknown" }
        return String(identity.namespace.dropFirst("meshgate-".count))
    }

    /// A connection with a series ends: its bytes, its result, and one fewer open.
    func endTraffic(_ series: TrafficSeries, _ conn: UnsafeMutablePointer<Connection>, reset: Bool) {
        series.active.wrappingDecrement(ordering: .relaxed)
        if conn.pointee.bytesUp > 0 { series.bytesIn.wrappingIncrement(by: conn.pointee.bytesUp, ordering: .relaxed) }
        if conn.pointee.bytesDown > 0 { series.bytesOut.wrappingIncrement(by: conn.pointee.bytesDown, ordering: .relaxed) }
        let result: TrafficResult
        if let refusal = conn.pointee.refusal {
            result = refusal == .linkDown ? .linkDown : .refused
            if let i = GatewayRefusal.allCases.firstIndex(of: refusal) { series.refused[i].wrappingIncrement(ordering: .relaxed) }
        } else {
            result = reset ? .reset : .ok
        }
        if let i = TrafficResult.allCases.firstIndex(of: result) { series.ended[i].wrappingIncrement(ordering: .relaxed) }
    }

    /// Counts the path that carried an open connection's payload.
    func countPath(_ conn: UnsafeMutablePointer<Connection>) {
        let d = conn.pointee.downstreamTransport
        let u = conn.pointee.upstreamTransport
        let sides = [d.tx.mode, u.tx.mode, d.rx.mode, u.rx.mode]
        let index: Int
        if sides.contains(.kernelTLS) {
            index = 0
        } else if sides.contains(.openSSL) || sides.contains(.records) {
            index = 1
        } else {
            index = conn.pointee.toUpstream.copyPath || conn.pointee.toDownstream.copyPath ? 3 : 2
        }
        traffic.countPath(index)
    }
}
