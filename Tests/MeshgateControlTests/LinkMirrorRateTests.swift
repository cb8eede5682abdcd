import Foundation
import MeshgateWire
import Testing

@testable import MeshgateControl

/// The per-link update limit over time, across the reconnects it causes (docs/links.md: at most
/// `updatesPerSecond` updates a second, in bursts of up to 10× that, counted for the link across
/// its streams; a stream we cut does not reset the backoff).
@Suite(.serialized) struct LinkMirrorRateTests {
    /// A peer that, on every connection, sends a snapshot, then 9 new services (within the burst),
    /// then 6 more (over it), and waits to be cut off.
    static func floodingScripts(count: Int) -> [MirrorTestServer.Script] {
        (1...count).map { n in
            { session in
                session.send(LinkMirrorTests.snapshot(UInt64(n), []))
                Thread.sleep(forTimeInterval: 0.05)
                session.send((0..<9).map { .upsert(DiscoveredService(namespace: "default", name: "c\(n)-s\($0)", ports: [80])) })
                Thread.sleep(forTimeInterval: 0.05)
                session.send((0..<6).map { .upsert(DiscoveredService(namespace: "default", name: "c\(n)-x\($0)", ports: [80])) })
                _ = session.waitForPeerEnd(seconds: 5)
            }
        }
    }

    @Test("a peer that floods on every connection gets no more than rate × time + burst updates applied")
    func sustainedRateAcrossReconnects() async throws {
        let server = try MirrorTestServer(scripts: Self.floodingScripts(count: 60))
        defer { server.stop() }
        let observed = LinkMirrorTests.Observed()
        let settings = LinkMirrorTests.slowProbes(maxServices: 1000, maxUpdatesPerSecond: 1)
        let mirror = try LinkMirrorTests.mirror(gateways: [server.address], settings: settings, observed: observed)
        let started = ContinuousClock.now
        mirror.start()
        try await Task.sleep(for: .seconds(3))
        mirror.stop()
        let elapsed = (ContinuousClock.now - started).components.seconds + 1
        var applied = Set<String>()
        for s in observed.states.value { applied.formUnion(s.services.keys) }
        let connections = server.discoverConnections
        #expect(connections >= 2, "the flooding peer was cut off and reconnected")
        #expect(observed.log.contains("closed by us"), "\(observed.log.all)")
        #expect(!applied.isEmpty, "updates within the burst are applied")
        // Documented bound: a burst of 10 (rate 1/s × 10) plus 1 a second, for the link across its
        // streams; a stream's first snapshot is free, and reconnects after a stream we cut wait out
        // a backoff that keeps growing (0.5 s ceiling, doubling: at most 5 streams in 3 s).
        let bound = 10 + Int(elapsed)
        #expect(applied.count <= bound, "\(applied.count) upserts taken in about \(elapsed) s at maxUpdatesPerSecond = 1 (bound \(bound))")
        #expect(connections <= 5, "\(connections) streams in about \(elapsed) s: the backoff was not reset by streams we cut")
    }
}
