import MeshgateWire

/// A snapshot being received under `links.limits.services`: the services the mirror has now
/// (`held`) keep their place; new ones are taken in arrival order while there is room; the
/// rest are refused. So an over-limit export never evicts a working route (docs/links.md).
///
/// Memory stays bounded by the held services plus `limit` new ones, whatever the peer sends.
struct SnapshotIntake: Sendable {
    let held: Set<String>
    let limit: Int
    private(set) var services: [String: DiscoveredService] = [:]
    /// New keys taken (at most `limit`), with their arrival number.
    private var fresh: [String: Int] = [:]
    private var arrivals = 0
    /// Upserts of new services refused because `limit` new ones were taken already.
    private(set) var refusedDuringIntake = 0
    /// The first refused keys, for the log (at most `sampleSize`).
    private(set) var sample: [String] = []
    static let sampleSize = 5

    init(held: Set<String>, limit: Int) {
        self.held = held
        self.limit = limit
    }

    mutating func upsert(_ key: String, _ service: DiscoveredService) {
        if !held.contains(key) && fresh[key] == nil {
            guard fresh.count < limit else {
                refusedDuringIntake += 1
                note(key)
                return
            }
            fresh[key] = arrivals
            arrivals += 1
        }
        services[key] = service
    }

    mutating func remove(_ key: String) {
        services.removeValue(forKey: key)
        fresh.removeValue(forKey: key)
    }

    /// The services the mirror keeps (at most `limit`): held ones first (in key order, should the
    /// limit have been lowered), then new ones in arrival order; and how many were refused.
    mutating func finish() -> (services: [String: DiscoveredService], refused: Int) {
        var out: [String: DiscoveredService] = [:]
        var refused = refusedDuringIntake
        for key in services.keys.filter(held.contains).sorted() {
            if out.count < limit {
                out[key] = services[key]
            } else {
                refused += 1
                note(key)
            }
        }
        for key in fresh.keys.sorted(by: { fresh[$0]! < fresh[$1]! }) where services[key] != nil {
            if out.count < limit {
                out[key] = services[key]
            } else {
                refused += 1
                note(key)
            }
        }
        return (out, refused)
    }

    private mutating func note(_ key: String) {
        if sample.count < Self.sampleSize { sample.append(key) }
    }
}
