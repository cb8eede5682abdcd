import Atomics
import Foundation

/// One traffic series' counters, shared by every loop (each connection touches it a few times:
/// when it is attributed, and when it ends; never per byte).
final class TrafficSeries: Sendable {
    let key: TrafficKey
    let ended: [ManagedAtomic<UInt64>] = TrafficResult.allCases.map { _ in ManagedAtomic(0) }
    let refused: [ManagedAtomic<UInt64>] = GatewayRefusal.allCases.map { _ in ManagedAtomic(0) }
    let bytesIn = ManagedAtomic<UInt64>(0)
    let bytesOut = ManagedAtomic<UInt64>(0)
    let active = ManagedAtomic<Int64>(0)

    init(key: TrafficKey) { self.key = key }

    var counts: TrafficCounts {
        var c = TrafficCounts()
        for (i, r) in TrafficResult.allCases.enumerated() {
            let n = ended[i].load(ordering: .relaxed)
            if n > 0 { c.ended[r] = n }
        }
        for (i, r) in GatewayRefusal.allCases.enumerated() {
            let n = refused[i].load(ordering: .relaxed)
            if n > 0 { c.refusedByReason[r.key] = n }
        }
        c.bytesIn = bytesIn.load(ordering: .relaxed)
        c.bytesOut = bytesOut.load(ordering: .relaxed)
        c.active = active.load(ordering: .relaxed)
        return c
    }
}

/// One loop's latency histograms and path counts: written by the loop only (relaxed load and
/// store, no locked instructions), read by anyone for reports.
final class LoopTrafficStats: Sendable {
    static let bounds = LatencyHistogram.defaultBounds
    /// Bounds in nanoseconds.
    private static let boundsNanos: [Int64] = bounds.map { Int64($0 * 1e9) }
    let handshake: [ManagedAtomic<UInt64>] = (0...LoopTrafficStats.bounds.count).map { _ in ManagedAtomic(0) }
    let handshakeSum = ManagedAtomic<UInt64>(0)
    let connect: [ManagedAtomic<UInt64>] = (0...LoopTrafficStats.bounds.count).map { _ in ManagedAtomic(0) }
    let connectSum = ManagedAtomic<UInt64>(0)
    /// Connections by path: ktls, userspace, splice, copy.
    static let pathNames = ["ktls", "userspace", "splice", "copy"]
    let paths: [ManagedAtomic<UInt64>] = LoopTrafficStats.pathNames.map { _ in ManagedAtomic(0) }

    private static func bump(_ a: ManagedAtomic<UInt64>, by n: UInt64 = 1) {
        a.store(a.load(ordering: .relaxed) &+ n, ordering: .relaxed)
    }

    private static func observe(_ nanos: Int64, _ buckets: [ManagedAtomic<UInt64>], _ sum: ManagedAtomic<UInt64>) {
        var i = 0
        while i < boundsNanos.count && nanos > boundsNanos[i] { i += 1 }
        bump(buckets[i])
        bump(sum, by: UInt64(max(0, nanos)))
    }

    func observeHandshake(nanoseconds: Int64) { Self.observe(nanoseconds, handshake, handshakeSum) }
    func observeConnect(nanoseconds: Int64) { Self.observe(nanoseconds, connect, connectSum) }
    func countPath(_ index: Int) { Self.bump(paths[index]) }
}

extension LatencyHistogram {
    /// The sum of loops' histograms.
    static func merged(_ loops: [([ManagedAtomic<UInt64>], ManagedAtomic<UInt64>)]) -> LatencyHistogram {
        var counts = [UInt64](repeating: 0, count: LoopTrafficStats.bounds.count + 1)
        var sum: UInt64 = 0
        for (buckets, s) in loops {
            for i in counts.indices { counts[i] &+= buckets[i].load(ordering: .relaxed) }
            sum &+= s.load(ordering: .relaxed)
        }
        return LatencyHistogram(bounds: LoopTrafficStats.bounds, counts: counts, sum: Double(sum) / 1e9)
    }
}
