import Foundation
import MeshgateWire
import Testing
@testable import MeshgateDiscovery
@testable import MeshgateProxy

/// A discover stream announces a route-table generation only once every proxy loop runs it
/// (`RouteTablePublisher.appliedByAllLoops`), so a peer acting on it never reaches a loop that
/// does not know the service yet; a loop that never applies it delays the announcement by
/// `announceBound` only. The loops are stood in for by `loopApplied` calls.
@Suite(.serialized) struct DiscoveryAnnounceAfterLoopsTests {
    typealias Harness = DiscoveryServerTests.Harness

    static let web = DiscoveryServerTests.exported("default", "web", ports: [80])
    static let api = DiscoveryServerTests.exported("default", "api", ports: [7000])

    @Test("a change one of two loops runs is held back (keepalives only); the second loop's apply releases it at once")
    func changeWaitsForEveryLoop() throws {
        let h = try Harness(keepalive: .milliseconds(100), loops: 2, announceBound: .seconds(60))
        h.publish([Self.web])
        let west = try h.open()
        defer { west.stream.close() }
        _ = try west.snapshot()

        let report = h.publish([Self.web, Self.api], appliedBy: 0..<1)
        let held = try west.frames(seconds: 0.5)
        #expect(!held.isEmpty && held.allSatisfy { $0 == .keepalive }, "generation \(report.generation) is not announced: \(held)")

        h.publisher.loopApplied(1, generation: report.generation)
        #expect(try west.nextChange(seconds: 3) == .upsert(DiscoveredService(namespace: "default", name: "api", ports: [7000])))
        #expect(h.server.lateAnnouncements == 0)
    }

    @Test("the opening snapshot waits for every loop too, and carries the generation they run")
    func openingWaitsForEveryLoop() throws {
        let h = try Harness(keepalive: .milliseconds(100), loops: 2, announceBound: .seconds(60))
        let report = h.publish([Self.web], appliedBy: 1..<2)
        let west = try h.open()
        defer { west.stream.close() }
        let early = try west.frames(seconds: 0.5)
        #expect(early.isEmpty, "nothing before every loop runs generation \(report.generation): \(early)")

        h.publisher.loopApplied(0, generation: report.generation)
        let (generation, services) = try west.snapshot()
        #expect(generation == report.generation)
        #expect(services == [DiscoveredService(namespace: "default", name: "web", ports: [80])])
        #expect(h.server.lateAnnouncements == 0)
    }

    @Test("a loop that never applies: the change is announced after announceBound, and counted")
    func wedgedLoopDelaysByTheBoundOnly() throws {
        let bound = Duration.milliseconds(300)
        let h = try Harness(keepalive: .milliseconds(100), loops: 2, announceBound: bound)
        h.publish([Self.web])
        let west = try h.open()
        defer { west.stream.close() }
        _ = try west.snapshot()

        let published = ContinuousClock.now
        h.publish([Self.web, Self.api], appliedBy: 0..<1)
        #expect(try west.nextChange(seconds: 5) == .upsert(DiscoveredService(namespace: "default", name: "api", ports: [7000])))
        #expect(ContinuousClock.now - published >= bound, "held back for the bound first")
        #expect(h.server.lateAnnouncements == 1)
        #expect(h.server.counters[DiscoveryServer.lateAnnouncementsKey] == 1, "the counter /status and /metrics show")

        // The next change waits for the bound again (the loop still lags) and is counted again.
        h.publish([Self.api], appliedBy: 0..<1)
        #expect(try west.nextChange(seconds: 5) == .remove(namespace: "default", name: "web"))
        #expect(h.server.lateAnnouncements == 2)
    }
}
