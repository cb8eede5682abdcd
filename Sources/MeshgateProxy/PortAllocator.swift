import Foundation
import MeshgateNames

/// Which outbound port each range route gets: a pure value (no sockets, no clock; the caller
/// passes the time and performs the binds), so that ports are a function of the route.
///
/// - A route's preferred port is `range.lower + hash(key) mod range.count` (`PortHash`, stable
///   across processes and hosts). On a collision the probes `hash(key#1)`, `hash(key#2)`, …
///   (`probeCount` of them) follow, then a linear scan from the preferred port.
/// - Memory: every key ever assigned remembers its port; a key that returns asks for that port
///   first. A port released by a key is *held* for that key for `holdOff`: no other key gets it
///   meanwhile, so a stale client of a withdrawn route is refused, never misrouted.
/// - Pins (`outbound.pin`): a pinned key gets its port (in or out of the range) and no other
///   key ever does.
/// - A port the caller could not bind (in use by something else on the host) is skipped like
///   a taken one: pass it in `excluding`.
public struct PortAllocator: Sendable {
    /// What the allocator knows about one key.
    public struct Assignment: Hashable, Sendable, Codable {
        /// The port the key has (or last had).
        public var port: UInt16
        /// When the key let go of the port (nil while it holds it).
        public var releasedAt: Date?

        /// Creates the value.
        public init(port: UInt16, releasedAt: Date? = nil) {
            self.port = port
            self.releasedAt = releasedAt
        }
    }

    /// The ports handed out to routes without a pin.
    public let range: ClosedRange<UInt16>
    /// How long a released port stays reserved for the key that released it.
    public private(set) var holdOff: Duration
    /// Route key → pinned port.
    public private(set) var pins: [String: UInt16] = [:]
    /// Every key remembered: its port, and when it let go of it.
    public private(set) var assignments: [String: Assignment] = [:]
    /// Ports in use or held → the key that owns them (a held port's entry expires lazily).
    private var owners: [UInt16: String] = [:]
    /// Port → pinned key.
    private var pinnedPorts: [UInt16: String] = [:]
    /// Releases in the order they happened, so that `expire` looks only at holds that ended.
    private var releases: [Release] = []
    /// The first entry of `releases` not yet expired.
    private var releasesHead = 0

    private struct Release: Sendable {
        let at: Date
        let key: String
        let port: UInt16
    }
    /// Keys remembered with `releasedAt` set (so forgetting is not a scan per release).
    private var idleCount = 0

    /// Probes derived from the key before the linear scan.
    public static let probeCount = 8
    /// Released keys remembered at least (oldest forgotten first); at least twice the range,
    /// so that a port still held is never forgotten (`rememberLimit`).
    public static let maxRemembered = 4096

    /// Released keys remembered at most: `maxRemembered`, or twice the range when larger.
    public var rememberLimit: Int { max(Self.maxRemembered, 2 * range.count) }

    /// An allocator with nothing assigned.
    public init(range: ClosedRange<UInt16>, holdOff: Duration = .seconds(600), pins: [String: UInt16] = [:]) {
        self.range = range
        self.holdOff = holdOff
        setPins(pins)
    }

    // MARK: - Settings

    /// Replaces the pins. A port now pinned stops being held for another key; a key that holds
    /// a port now pinned to another key keeps it until the caller moves it (see `misplaced`).
    public mutating func setPins(_ pins: [String: UInt16]) {
        self.pins = pins
        pinnedPorts = [:]
        for (key, port) in pins.sorted(by: { $0.key < $1.key }) where pinnedPorts[port] == nil { pinnedPorts[port] = key }
        for (port, key) in pinnedPorts {
            if let owner = owners[port], owner != key, assignments[owner]?.releasedAt != nil { owners[port] = nil }
        }
    }

    /// Changes the hold-off (holds already running are measured with the new value).
    public mutating func setHoldOff(_ holdOff: Duration) {
        self.holdOff = holdOff
    }

    // MARK: - Questions

    /// The port `key` should listen on now, or nil when none is free: its pin; else its own
    /// remembered port when free; else the first free one of its probe sequence. `excluding`:
    /// ports the caller found it cannot bind.
    public func port(for key: String, now: Date, excluding: Set<UInt16> = []) -> UInt16? {
        if let pin = pins[key] { return excluding.contains(pin) ? nil : pin }
        for port in candidates(for: key) where !excluding.contains(port) {
            if isFree(port, for: key, now: now) { return port }
        }
        return nil
    }

    /// The ports `key` would try, in order, ignoring who holds them: its remembered port, its
    /// preferred port, the probes, then every other port of the range once. Lazy.
    public func candidates(for key: String) -> some Sequence<UInt16> {
        let remembered = assignments[key].map(\.port).flatMap { range.contains($0) ? $0 : nil }
        return PortCandidates(key: key, range: range, remembered: remembered)
    }

    /// The port `key` prefers (where it lands when nothing collides).
    public func preferredPort(for key: String) -> UInt16 {
        Self.port(hash: PortHash.of(key), in: range)
    }

    /// True when `port` may be handed to `key` at `now`: not pinned to, used by or held for
    /// another key.
    public func isFree(_ port: UInt16, for key: String, now: Date) -> Bool {
        if let pinned = pinnedPorts[port], pinned != key { return false }
        guard let owner = owners[port], owner != key, let a = assignments[owner], a.port == port else { return true }
        guard let released = a.releasedAt else { return false }
        return now >= released.addingTimeInterval(holdOff.seconds)
    }

    /// The key that uses `port` now, or holds it at `now`.
    public func owner(of port: UInt16, now: Date) -> String? {
        guard let owner = owners[port], let a = assignments[owner], a.port == port else { return nil }
        if let released = a.releasedAt, now >= released.addingTimeInterval(holdOff.seconds) { return nil }
        return owner
    }

    /// True when no range port is free for a new key at `now` (a quick refusal before a scan).
    public func rangeIsFull(now: Date) -> Bool {
        // Cheap upper bound first: fewer owners and pins than ports means some port is free.
        let taken = owners.count + pinnedPorts.count
        if taken < range.count { return false }
        return !range.contains { isFree($0, for: "", now: now) }
    }

    /// True when `key` listens on a port it should not keep: another key's pin, or not its own pin.
    public func isMisplaced(_ key: String) -> Bool {
        guard let a = assignments[key], a.releasedAt == nil else { return false }
        if let pin = pins[key] { return a.port != pin }
        if let pinned = pinnedPorts[a.port], pinned != key { return true }
        return !range.contains(a.port)
    }

    /// Keys using a port now (not released).
    public var activeKeys: [String] { assignments.filter { $0.value.releasedAt == nil }.map(\.key) }

    /// Ports held for a released key at `now`: port → (key, until).
    public func holds(now: Date) -> [UInt16: (key: String, until: Date)] {
        var result: [UInt16: (key: String, until: Date)] = [:]
        for (port, key) in owners {
            guard let a = assignments[key], a.port == port, let released = a.releasedAt else { continue }
            let until = released.addingTimeInterval(holdOff.seconds)
            if now < until { result[port] = (key, until) }
        }
        return result
    }

    // MARK: - Changes

    /// Records that `key` now listens on `port`.
    public mutating func assign(_ key: String, port: UInt16) {
        if let old = assignments[key] {
            if old.port != port, owners[old.port] == key { owners[old.port] = nil }
            if old.releasedAt != nil { idleCount -= 1 }
        }
        assignments[key] = Assignment(port: port)
        owners[port] = key
    }

    /// Records that `key` let go of its port at `now`: the port is held for it for `holdOff`.
    public mutating func release(_ key: String, now: Date) {
        guard var a = assignments[key], a.releasedAt == nil else { return }
        a.releasedAt = now
        assignments[key] = a
        idleCount += 1
        owners[a.port] = key
        releases.append(Release(at: now, key: key, port: a.port))
        forgetOldest()
    }

    /// Forgets the holds that ended before `now` (the keys stay remembered, without a hold).
    /// Returns true when any ended: ports may have become free.
    @discardableResult
    public mutating func expire(now: Date) -> Bool {
        var ended = false
        let hold = holdOff.seconds
        while releasesHead < releases.count, now >= releases[releasesHead].at.addingTimeInterval(hold) {
            let r = releases[releasesHead]
            releasesHead += 1
            // Only if the port is still held by that release (the key may have come back).
            guard owners[r.port] == r.key, let a = assignments[r.key], a.port == r.port, a.releasedAt != nil else { continue }
            owners[r.port] = nil
            ended = true
        }
        if releasesHead > 1024 && releasesHead * 2 > releases.count {
            releases.removeFirst(releasesHead)
            releasesHead = 0
        }
        return ended
    }

    // MARK: - Persistence

    /// What survives a restart (`PortStateFile`): the remembered keys and their holds.
    public var state: PortAllocatorState {
        PortAllocatorState(assignments: assignments)
    }

    /// Takes a saved state after a restart, at `now`: keys that were listening when it was saved
    /// are held from `now` (a restart is not a withdrawal: each gets its port back when it
    /// returns within the hold-off); held ports keep their release time. Ports outside the
    /// range are kept for pinned keys only.
    public mutating func restore(_ saved: PortAllocatorState, now: Date) {
        for (key, a) in saved.assignments.sorted(by: { $0.key < $1.key }) {
            guard range.contains(a.port) || pins[key] == a.port else { continue }
            let releasedAt = a.releasedAt ?? now
            if let old = assignments[key], old.releasedAt != nil { idleCount -= 1 }
            assignments[key] = Assignment(port: a.port, releasedAt: releasedAt)
            idleCount += 1
            if now < releasedAt.addingTimeInterval(holdOff.seconds), owner(of: a.port, now: now) == nil {
                owners[a.port] = key
                releases.append(Release(at: releasedAt, key: key, port: a.port))
            }
        }
        releases.sort { $0.at < $1.at }
        releasesHead = 0
        forgetOldest()
    }

    /// Keeps at most `rememberLimit` released keys (oldest release first; down to three
    /// quarters of it at once, so that the sort is rare). Held ports are the newest releases and
    /// at most one per range port, so they are never among those forgotten.
    private mutating func forgetOldest() {
        guard idleCount > rememberLimit else { return }
        let idle = assignments.filter { $0.value.releasedAt != nil }
        let keep = rememberLimit * 3 / 4
        let drop = idle.sorted { ($0.value.releasedAt!, $0.key) < ($1.value.releasedAt!, $1.key) }.prefix(max(0, idle.count - keep))
        for (key, a) in drop {
            assignments[key] = nil
            if owners[a.port] == key { owners[a.port] = nil }
        }
        idleCount = idle.count - drop.count
    }

    static func port(hash: UInt64, in range: ClosedRange<UInt16>) -> UInt16 {
        let count = UInt64(range.upperBound) - UInt64(range.lowerBound) + 1
        return UInt16(UInt64(range.lowerBound) + hash % count)
    }
}

/// The order in which a key tries ports: remembered, preferred, `probeCount` probes, then the
/// rest of the range from the preferred port on. Duplicates are possible and harmless.
struct PortCandidates: Sequence, IteratorProtocol {
    let key: String
    let range: ClosedRange<UInt16>
    let remembered: UInt16?
    private var step = -1
    private var preferred: UInt16 = 0
    private var scanned = 0

    init(key: String, range: ClosedRange<UInt16>, remembered: UInt16?) {
        self.key = key
        self.range = range
        self.remembered = remembered
    }

    mutating func next() -> UInt16? {
        let count = Int(range.upperBound) - Int(range.lowerBound) + 1
        while true {
            step += 1
            switch step {
            case 0:
                if let remembered { return remembered }
            case 1:
                preferred = PortAllocator.port(hash: PortHash.of(key), in: range)
                return preferred
            case 2...(1 + PortAllocator.probeCount):
                return PortAllocator.port(hash: PortHash.of("\(key)#\(step - 1)"), in: range)
            default:
                // Linear scan: preferred+1, preferred+2, … wrapping, each range port once.
                scanned += 1
                guard scanned < count else { return nil }
                let offset = (Int(preferred) - Int(range.lowerBound) + scanned) % count
                return UInt16(Int(range.lowerBound) + offset)
            }
        }
    }
}

/// A hash of a route key that is the same in every process and on every host (Swift's
/// `Hasher` is seeded per process): FNV-1a 64 over the UTF-8 bytes, finished with the
/// SplitMix64 mixer so that every bit of the key reaches the low bits a modulo keeps.
public enum PortHash {
    /// The hash of `key`.
    public static func of(_ key: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01b3
        }
        h ^= h >> 30
        h &*= 0xbf58_476d_1ce4_e5b9
        h ^= h >> 27
        h &*= 0x94d0_49bb_1331_11eb
        h ^= h >> 31
        return h
    }
}

/// What `PortStateFile` keeps of a `PortAllocator`.
public struct PortAllocatorState: Hashable, Sendable {
    /// Route key → port and release time (nil: listening when saved).
    public var assignments: [String: PortAllocator.Assignment]

    /// Creates the value.
    public init(assignments: [String: PortAllocator.Assignment]) {
        self.assignments = assignments
    }
}
