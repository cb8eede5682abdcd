import Foundation
import MeshgateLoop
import Testing

@testable import MeshgateProxy
import MeshgateTestKit

#if canImport(Glibc)
    import Glibc
#endif

/// `RouteTablePublisher` and `PortAllocator` together: ports that do not move, holds, pins,
/// waiting routes, the state file. Real sockets on loopback, no loops.
@Suite(.serialized) struct RouteTablePublisherPortTests {
    /// A settable wall clock.
    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var now = Date(timeIntervalSince1970: 1_800_000_000)
        func read() -> Date { lock.withLock { now } }
        func advance(_ seconds: TimeInterval) { lock.withLock { now = now.addingTimeInterval(seconds) } }
    }

    static func publisher(
        range: ClosedRange<UInt16>, pins: [String: UInt16] = [:], holdOff: Duration = .seconds(600), clock: Clock = Clock(),
        stateFile: PortStateFile? = nil, problems: ProblemLog? = nil
    ) throws -> RouteTablePublisher {
        RouteTablePublisher(
            bindAddress: try SocketAddress.resolve(host: "127.0.0.1", port: 0), portRange: range,
            credentials: try PublisherCredentials.shared(), loops: 1, pins: pins, holdOff: holdOff, stateFile: stateFile,
            clock: { clock.read() }, problem: { problems?.add($0) })
    }

    final class ProblemLog: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    static func ports(_ report: PublishReport) -> [String: UInt16] { report.listening.mapValues(\.port) }

    @Test("a withdrawn route that returns gets its port back; a route added meanwhile does not get it, and a stale client is refused")
    func withdrawnRouteKeepsItsPort() throws {
        let base = try LoopbackPorts.freeBlock(count: 2)
        let clock = Clock()
        let publisher = try Self.publisher(range: base...(base + 1), clock: clock)
        let a = PublisherFixture.route("alpha")
        let b = PublisherFixture.route("bravo")
        let first = publisher.update(upserting: [a, b])
        #expect(first.failed.isEmpty, "\(first.failed)")
        let pa = try #require(first.listening[a.key]?.port)

        let withdrawn = publisher.update(upserting: [], removing: [a.key])
        #expect(withdrawn.failed.isEmpty)
        #expect(LoopbackPorts.connectErrno(pa) == ECONNREFUSED, "a stale client of alpha is refused")

        clock.advance(60)
        let c = PublisherFixture.route("charlie")
        let added = publisher.update(upserting: [c])
        #expect(added.listening[c.key] == nil, "charlie must not get alpha's held port")
        #expect(added.failed[c.key]?.contains("no free port") == true, "\(added.failed)")
        #expect(LoopbackPorts.connectErrno(pa) == ECONNREFUSED, "still refused, never misrouted")
        #expect(publisher.waitingRoutes == [c.key])

        let back = publisher.update(upserting: [PublisherFixture.route("alpha")])
        #expect(back.listening[a.key]?.port == pa, "alpha is back on its port: \(back.failed)")
        #expect(LoopbackPorts.connectErrno(pa) == 0)
        #expect(publisher.waitingRoutes == [c.key], "charlie still waits")
    }

    @Test("a route that returns while its old listener is still open (a loop holds it) takes that socket back")
    func returningRouteTakesItsSocketBack() throws {
        let base = try LoopbackPorts.freeBlock(count: 4)
        let publisher = try Self.publisher(range: base...(base + 3))
        let a = PublisherFixture.route("alpha")
        let pa = try #require(publisher.update(upserting: [a]).listening[a.key]?.port)
        // A loop that has not applied the withdrawal yet still holds the old snapshot.
        let loopView = publisher.snapshot
        let old = try #require(loopView.routes[a.key]?.listener)
        publisher.update(upserting: [], removing: [a.key])
        let back = publisher.update(upserting: [PublisherFixture.route("alpha")])
        #expect(back.failed.isEmpty, "\(back.failed)")
        #expect(back.listening[a.key]?.port == pa)
        #expect(publisher.snapshot.routes[a.key]?.listener === old, "the same socket, not a new bind")
        withExtendedLifetime(loopView) {}
    }

    @Test("a waiting route gets a port once a hold ends (retryWaiting), and is reported as recovered")
    func waitingRouteGetsPortAfterHoldOff() throws {
        let base = try LoopbackPorts.freeBlock(count: 1)
        let clock = Clock()
        let publisher = try Self.publisher(range: base...base, holdOff: .seconds(600), clock: clock)
        let a = PublisherFixture.route("alpha")
        #expect(publisher.update(upserting: [a]).listening[a.key]?.port == base)
        publisher.update(upserting: [], removing: [a.key])
        let b = PublisherFixture.route("bravo")
        #expect(publisher.update(upserting: [b]).failed[b.key] != nil)
        #expect(publisher.retryWaiting() == nil, "the hold lasts: nothing published")
        clock.advance(599)
        #expect(publisher.retryWaiting() == nil)
        clock.advance(2)
        let retried = try #require(publisher.retryWaiting(), "the hold ended: bravo gets the port")
        #expect(retried.listening[b.key]?.port == base)
        #expect(retried.recovered == [b.key])
        #expect(publisher.waitingRoutes.isEmpty)
        #expect(publisher.retryWaiting() == nil)
    }

    @Test("routes that found no free port get one when another link's routes go (hold-off 0), on the next update")
    func waitingRoutesRetriedOnUpdate() throws {
        let base = try LoopbackPorts.freeBlock(count: 2)
        let publisher = try Self.publisher(range: base...(base + 1), holdOff: .zero)
        let hostile = ["h1", "h2"].map { PublisherFixture.route($0) }
        _ = publisher.update(upserting: hostile)
        let north = PublisherFixture.route("web-north")
        #expect(publisher.update(upserting: [north]).failed[north.key]?.contains("no free port") == true)
        // The hostile link goes; its listeners close with the snapshot (no loops here).
        let gone = publisher.update(upserting: [], removing: hostile.map(\.key))
        // The listeners may still be open during that same update: a retry afterwards finds the port.
        let listening = gone.listening[north.key] ?? publisher.retryWaiting()?.listening[north.key]
        #expect(listening != nil, "web-north got a port once the hostile routes went")
        #expect(publisher.waitingRoutes.isEmpty)
    }

    @Test("the same routes give the same ports in any arrival order, collisions included (two publishers, one after the other)")
    func sameTableWhateverTheOrder() throws {
        let base = try LoopbackPorts.freeBlock(count: 16)
        let range = base...(base + 15)
        // 12 routes in 16 ports: collisions are certain to occur for some names.
        let names = (0..<12).map { "svc\($0)" }
        let first = try Self.publisher(range: range)
        let forward = Self.ports(first.update(upserting: names.map { PublisherFixture.route($0) }))
        first.closeRoutes()
        let second = try Self.publisher(range: range)
        let backward = Self.ports(second.update(upserting: names.reversed().map { PublisherFixture.route($0) }))
        second.closeRoutes()
        #expect(forward.count == 12 && forward == backward, "\(forward) vs \(backward)")
    }

    @Test("pins: a pinned route listens on its port (outside the range too); a range route never takes a pinned port")
    func pinnedPorts() throws {
        let base = try LoopbackPorts.freeBlock(count: 3)
        let pinnedKey = "default/redis:7000"
        let publisher = try Self.publisher(range: base...(base + 1), pins: [pinnedKey: base + 2, "default/later:7000": base])
        let report = publisher.update(upserting: [
            PublisherFixture.route("redis"), PublisherFixture.route("one"), PublisherFixture.route("two"),
        ])
        #expect(report.listening[pinnedKey]?.port == base + 2)
        #expect(report.listening["default/one:7000"]?.port == base + 1 || report.listening["default/two:7000"]?.port == base + 1)
        #expect(report.failed.count == 1, "the range's other port is pinned to a route not there: \(report.failed)")
        #expect(LoopbackPorts.connectErrno(base) == ECONNREFUSED)
    }

    @Test("a new pin moves the route on that port off it and gives the port to the pinned route at the next publish")
    func newPinWins() throws {
        let base = try LoopbackPorts.freeBlock(count: 4)
        let publisher = try Self.publisher(range: base...(base + 3))
        let routes = [PublisherFixture.route("alpha"), PublisherFixture.route("bravo")]
        let before = Self.ports(publisher.publish(routes: routes, services: []))
        let alphaPort = try #require(before["default/alpha:7000"])
        publisher.setPortRules(pins: ["default/bravo:7000": alphaPort], holdOff: .seconds(600))
        let after = publisher.publish(routes: routes.map { PublisherFixture.route($0.target.name) }, services: [])
        #expect(after.failed.isEmpty, "\(after.failed)")
        #expect(after.listening["default/bravo:7000"]?.port == alphaPort)
        #expect(after.listening["default/alpha:7000"]?.port != alphaPort)
    }

    @Test("with a state file, a restarted publisher gives every route its port back, even for another arrival order and collisions")
    func stateFileSurvivesRestart() throws {
        let dir = try PortStateFileTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = try LoopbackPorts.freeBlock(count: 8)
        let range = base...(base + 7)
        let names = (0..<7).map { "svc\($0)" }
        let file = PortStateFile(stateDirectory: dir)
        let first = try Self.publisher(range: range, stateFile: file)
        var before: [String: UInt16] = [:]
        for name in names { before.merge(Self.ports(first.update(upserting: [PublisherFixture.route(name)]))) { a, _ in a } }
        first.closeRoutes()
        #expect(FileManager.default.fileExists(atPath: file.path))
        let second = try Self.publisher(range: range, stateFile: file)
        let after = Self.ports(second.update(upserting: names.reversed().map { PublisherFixture.route($0) }))
        second.closeRoutes()
        #expect(before.count == 7 && after == before, "\(before) vs \(after)")
    }

    @Test("a corrupt state file is reported with its path and ignored; the publisher works and rewrites it")
    func corruptStateFile() throws {
        let dir = try PortStateFileTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = PortStateFile(stateDirectory: dir)
        try "{\"version\": 1, \"routes\": [".write(toFile: file.path, atomically: true, encoding: .utf8)
        let problems = ProblemLog()
        let base = try LoopbackPorts.freeBlock(count: 2)
        let publisher = try Self.publisher(range: base...(base + 1), stateFile: file, problems: problems)
        #expect(problems.all.count == 1 && problems.all.first?.hasPrefix(file.path + ": ") == true, "\(problems.all)")
        let report = publisher.update(upserting: [PublisherFixture.route("alpha")])
        #expect(report.failed.isEmpty)
        publisher.closeRoutes()
        #expect(try file.load()?.assignments["default/alpha:7000"]?.port == report.listening["default/alpha:7000"]?.port)
    }
}
