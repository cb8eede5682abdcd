import Foundation

/// Shared series by key, each made on first use, for counts every loop adds to (traffic by
/// route and peer, warm pools by cluster). Loops cache the series they use, so the lock is taken
/// once per loop and key. Bounded: past `limit` series, a new key shares the series of its
/// `overflow` key (an `other` bucket).
final class SeriesRegistry<Key: Hashable, Series: AnyObject>: @unchecked Sendable {
    static var limit: Int { 10_000 }
    private let lock = NSLock()
    private var series: [Key: Series] = [:]
    private let overflow: (Key) -> Key
    private let make: (Key) -> Series

    init(overflow: @escaping (Key) -> Key, make: @escaping (Key) -> Series) {
        self.overflow = overflow
        self.make = make
    }

    /// The series of `key` (or of its overflow key once the registry is full).
    func series(for key: Key) -> Series {
        lock.lock()
        defer { lock.unlock() }
        if let s = series[key] { return s }
        let k = series.count >= Self.limit ? overflow(key) : key
        if let s = series[k] { return s }
        let s = make(k)
        series[k] = s
        return s
    }

    /// Every series now.
    var all: [Series] {
        lock.lock()
        defer { lock.unlock() }
        return Array(series.values)
    }
}

/// Every traffic series of a server, by key; past the limit, new keys share one series per
/// direction with cluster and service `other`.
typealias TrafficRegistry = SeriesRegistry<TrafficKey, TrafficSeries>

extension SeriesRegistry where Key == TrafficKey, Series == TrafficSeries {
    convenience init() {
        self.init(overflow: { TrafficKey(direction: $0.direction, cluster: "other", service: "other") }, make: { TrafficSeries(key: $0) })
    }
}

/// Every cluster's warm-pool series; past the limit, new clusters share the series `other`.
typealias PoolRegistry = SeriesRegistry<String, PoolSeries>

extension SeriesRegistry where Key == String, Series == PoolSeries {
    convenience init() {
        self.init(overflow: { _ in "other" }, make: { PoolSeries(cluster: $0) })
    }
}
