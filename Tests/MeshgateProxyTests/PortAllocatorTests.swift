import Foundation
import Testing

@testable import MeshgateProxy

/// `PortAllocator` on its own: no sockets, an injected time.
struct PortAllocatorTests {
    static let range: ClosedRange<UInt16> = 4200...4999
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// Takes `port(for:)` and records it, as the publisher does after a successful bind.
    static func take(_ a: inout PortAllocator, _ key: String, at now: Date = t0) -> UInt16? {
        guard let port = a.port(for: key, now: now) else { return nil }
        a.assign(key, port: port)
        return port
    }

    /// Keys whose preferred ports differ pairwise in `range`.
    static func distinctKeys(_ count: Int, in range: ClosedRange<UInt16>) -> [String] {
        var seen = Set<UInt16>()
        var keys: [String] = []
        var i = 0
        while keys.count < count {
            let key = "default/svc\(i)-west:80"
            if seen.insert(PortAllocator(range: range).preferredPort(for: key)).inserted { keys.append(key) }
            i += 1
        }
        return keys
    }

    /// Two keys with the same preferred port in `range`.
    static func collidingPair(in range: ClosedRange<UInt16>) -> (String, String) {
        var byPort: [UInt16: String] = [:]
        var i = 0
        while true {
            let key = "default/app\(i)-north:8080"
            let port = PortAllocator(range: range).preferredPort(for: key)
            if let other = byPort[port] { return (other, key) }
            byPort[port] = key
            i += 1
        }
    }

    @Test("the hash is fixed: the same key gives the same port in every process (FNV-1a 64 + SplitMix64 finalizer)")
    func hashIsFixed() {
        // Values computed once; a change here moves every gateway's ports.
        #expect(PortHash.of("default/web-west:80") == 0x1093430dddec18bc)
        #expect(PortHash.of("default/web-west:80") == PortHash.of("default/web-west:80"))
        #expect(PortHash.of("default/web-west:80") != PortHash.of("default/web-west:81"))
        let a = PortAllocator(range: Self.range)
        #expect(a.preferredPort(for: "default/web-west:80") == 4612)
        #expect(Self.range.contains(a.preferredPort(for: "default/web-west:80")))
    }

    @Test("non-colliding keys get their preferred ports whatever the insertion order")
    func orderIndependent() {
        let keys = Self.distinctKeys(40, in: Self.range)
        var forward = PortAllocator(range: Self.range)
        var backward = PortAllocator(range: Self.range)
        var shuffled = PortAllocator(range: Self.range)
        let f = Dictionary(uniqueKeysWithValues: keys.map { ($0, Self.take(&forward, $0)!) })
        let b = Dictionary(uniqueKeysWithValues: keys.reversed().map { ($0, Self.take(&backward, $0)!) })
        var rng = SystemRandomNumberGenerator()
        let s = Dictionary(uniqueKeysWithValues: keys.shuffled(using: &rng).map { ($0, Self.take(&shuffled, $0)!) })
        #expect(f == b)
        #expect(f == s)
        for key in keys { #expect(f[key] == forward.preferredPort(for: key)) }
    }

    @Test("a collision is resolved by the key's own probe sequence, the same every time for the same order")
    func collisionProbes() {
        let (first, second) = Self.collidingPair(in: Self.range)
        var a = PortAllocator(range: Self.range)
        let p1 = Self.take(&a, first)!
        let p2 = Self.take(&a, second)!
        #expect(p1 == a.preferredPort(for: first))
        #expect(p2 != p1)
        let probes = Array(a.candidates(for: second).prefix(1 + PortAllocator.probeCount))
        #expect(probes.contains(p2), "the second key lands on one of its probes: \(probes) → \(p2)")
        var again = PortAllocator(range: Self.range)
        #expect(Self.take(&again, first) == p1)
        #expect(Self.take(&again, second) == p2)
    }

    @Test("a tiny range is filled completely by the linear scan, then refuses")
    func fullRange() {
        let small: ClosedRange<UInt16> = 5000...5002
        var a = PortAllocator(range: small)
        let ports = (0..<3).compactMap { Self.take(&a, "default/k\($0):1") }
        #expect(Set(ports) == [5000, 5001, 5002])
        #expect(a.port(for: "default/k9:1", now: Self.t0) == nil)
        #expect(a.rangeIsFull(now: Self.t0))
    }

    @Test("ports the caller cannot bind are skipped")
    func excludedPortsAreSkipped() {
        var a = PortAllocator(range: Self.range)
        let key = "default/web-west:80"
        let preferred = a.preferredPort(for: key)
        let port = a.port(for: key, now: Self.t0, excluding: [preferred])
        #expect(port != nil && port != preferred)
        a.assign(key, port: port!)
        #expect(a.owner(of: port!, now: Self.t0) == key)
    }

    @Test("a released port is refused to another key during the hold-off, given back to its key, and free after it")
    func holdOff() {
        var a = PortAllocator(range: 6000...6000, holdOff: .seconds(600))
        #expect(Self.take(&a, "default/a:1") == 6000)
        a.release("default/a:1", now: Self.t0)
        #expect(a.port(for: "default/b:1", now: Self.t0) == nil, "held for a")
        #expect(a.port(for: "default/b:1", now: Self.t0.addingTimeInterval(599)) == nil, "still held")
        #expect(a.holds(now: Self.t0)[6000]?.key == "default/a:1")
        #expect(a.port(for: "default/a:1", now: Self.t0.addingTimeInterval(30)) == 6000, "a gets it back")
        let early = a.expire(now: Self.t0.addingTimeInterval(599))
        #expect(!early)
        let ended = a.expire(now: Self.t0.addingTimeInterval(600))
        #expect(ended, "the hold ended")
        #expect(a.holds(now: Self.t0.addingTimeInterval(600)).isEmpty)
        #expect(a.port(for: "default/b:1", now: Self.t0.addingTimeInterval(600)) == 6000)
    }

    @Test("a key that returns after its hold ended still prefers its old port when it is free")
    func rememberedPort() {
        var a = PortAllocator(range: Self.range, holdOff: .seconds(1))
        let key = "default/web-west:80"
        let blocker = "default/other:1"
        // Make the key land off its preferred port, then withdraw it for longer than the hold-off.
        a.assign(blocker, port: a.preferredPort(for: key))
        let port = Self.take(&a, key)!
        #expect(port != a.preferredPort(for: key))
        a.release(key, now: Self.t0)
        a.release(blocker, now: Self.t0)
        a.expire(now: Self.t0.addingTimeInterval(10))
        #expect(a.port(for: key, now: Self.t0.addingTimeInterval(10)) == port, "its remembered port comes first")
    }

    @Test("a hold-off of zero frees a released port at once")
    func noHoldOff() {
        var a = PortAllocator(range: 6000...6000, holdOff: .zero)
        #expect(Self.take(&a, "default/a:1") == 6000)
        a.release("default/a:1", now: Self.t0)
        #expect(a.port(for: "default/b:1", now: Self.t0) == 6000)
    }

    @Test("a pinned key gets its pin (in or out of the range); no other key gets a pinned port")
    func pins() {
        let key = "default/web-west:80"
        let pinnedInRange = PortAllocator(range: Self.range).preferredPort(for: key)
        var a = PortAllocator(range: Self.range, pins: ["default/redis-west:6379": pinnedInRange, "default/db-west:5432": 7000])
        #expect(a.port(for: "default/redis-west:6379", now: Self.t0) == pinnedInRange)
        #expect(a.port(for: "default/db-west:5432", now: Self.t0) == 7000, "outside the range")
        let got = Self.take(&a, key)!
        #expect(got != pinnedInRange, "the pinned port is not handed to another key")
        // Pinning a port another key uses makes that key misplaced (the publisher moves it).
        a.setPins(["default/new:1": got])
        #expect(a.isMisplaced(key))
        #expect(!a.isMisplaced("default/redis-west:6379"))
        // Every other port still goes: a range of one pinned port refuses everyone else.
        let one = PortAllocator(range: 6000...6000, pins: ["default/p:1": 6000])
        #expect(one.port(for: "default/q:1", now: Self.t0) == nil)
    }

    @Test("restore: keys listening when saved are held from the restart, held ports keep their release time")
    func restore() {
        var a = PortAllocator(range: Self.range, holdOff: .seconds(600))
        let keys = Self.distinctKeys(3, in: Self.range)
        for k in keys { _ = Self.take(&a, k) }
        a.release(keys[2], now: Self.t0)
        let saved = a.state
        let restart = Self.t0.addingTimeInterval(3600)
        var b = PortAllocator(range: Self.range, holdOff: .seconds(600))
        b.restore(saved, now: restart)
        let p0 = a.assignments[keys[0]]!.port
        #expect(b.owner(of: p0, now: restart) == keys[0], "held for its key after the restart")
        #expect(b.port(for: "default/intruder:1", now: restart, excluding: []) != p0)
        #expect(b.port(for: keys[0], now: restart) == p0)
        #expect(b.owner(of: a.assignments[keys[2]]!.port, now: restart) == nil, "its hold ended before the restart")
        #expect(b.port(for: keys[2], now: restart) == a.assignments[keys[2]]!.port, "but it still prefers its port")
        // A saved port outside the (new) range is dropped.
        var c = PortAllocator(range: 7000...7100)
        c.restore(saved, now: restart)
        #expect(c.assignments.isEmpty)
    }
}

/// `PortStateFile`: the allocator's memory on disk.
struct PortStateFileTests {
    static func directory() throws -> String {
        let dir = NSTemporaryDirectory() + "meshgate-portstate-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("save then load gives the same state; the write leaves no temporary file")
    func roundTrip() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = PortStateFile(stateDirectory: dir)
        #expect(try file.load() == nil, "no file yet")
        let state = PortAllocatorState(assignments: [
            "default/web-west:80": .init(port: 4371),
            "default/db-west:5432": .init(port: 4212, releasedAt: Date(timeIntervalSince1970: 1_800_000_123)),
        ])
        try file.save(state)
        #expect(try file.load() == state)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [PortStateFile.fileName])
        let text = try String(contentsOfFile: file.path, encoding: .utf8)
        #expect(text.contains("\"version\":1"))
    }

    @Test(
        "a broken file is a problem naming the path and the reason, not a crash",
        arguments: [
            "{not json", "{\"version\": 2, \"routes\": []}", "{\"version\": 1}", "",
            "{\"version\": 1, \"routes\": [{\"key\": \"a\", \"port\": 70000}]}",
        ])
    func brokenFile(text: String) throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = PortStateFile(stateDirectory: dir)
        try text.write(toFile: file.path, atomically: true, encoding: .utf8)
        do {
            _ = try file.load()
            Issue.record("loaded a broken file: \(text)")
        } catch {
            #expect(error.description.hasPrefix(file.path + ": "), "\(error.description)")
        }
    }

    @Test("a folder that cannot be made or written is a problem, not a crash")
    func unwritable() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The state folder's parent is a regular file: the folder cannot be created (even as root).
        try "x".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
        let file = PortStateFile(stateDirectory: dir + "/file/state")
        #expect(throws: PortStateFile.Problem.self) { try file.save(PortAllocatorState(assignments: [:])) }
    }
}

extension PortAllocatorTests {
    @Test("memory is bounded: beyond the limit the oldest released keys are forgotten, held ports never")
    func boundedMemory() {
        var a = PortAllocator(range: 6000...6009, holdOff: .seconds(60))
        let limit = a.rememberLimit
        for i in 0..<(limit + 10) {
            let key = "default/k\(i):1"
            a.assign(key, port: 6000 + UInt16(i % 10))
            a.release(key, now: Self.t0.addingTimeInterval(Double(i)))
        }
        #expect(a.assignments.count <= limit)
        let now = Self.t0.addingTimeInterval(Double(limit + 10))
        // The last ten releases hold the ten ports.
        #expect(a.holds(now: now).count == 10, "\(a.holds(now: now).count)")
        #expect(a.port(for: "default/new:1", now: now) == nil)
    }
}
