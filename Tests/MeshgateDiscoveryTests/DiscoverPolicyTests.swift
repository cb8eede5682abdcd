import Foundation
import Logging
import MeshgateLoop
import MeshgateTLS
import MeshgateWire
import Testing
@testable import MeshgateDiscovery
@testable import MeshgateProxy

/// Who may open discover streams, how many each, and what ends one at once
/// (`DiscoveryServer.policy`, docs/gateway-config.md `inbound.discover`).
@Suite(.serialized) struct DiscoverPolicyTests {
    typealias Harness = DiscoveryServerTests.Harness
    typealias FrameReader = DiscoveryServerTests.FrameReader

    /// The stream was reset (an error that is not a timeout and not a clean end) within `seconds`.
    static func wasReset(_ reader: FrameReader, seconds: Double = 1) -> Bool {
        do {
            let m = try reader.next(seconds: seconds)
            Issue.record("the refused stream delivered \(String(describing: m))")
            return false
        } catch let e as TLSStreamError {
            return !e.timedOut
        } catch {
            return true
        }
    }

    @Test("by default a workload identity may not open a discover stream; with allow: any it may")
    func workloadRefusedByDefault() throws {
        let h = try Harness()
        h.publisher.publish(routes: [], services: [DiscoveryServerTests.exported("default", "web", ports: [80])])
        let other = try h.open(leaf: "other", cluster: "west")
        defer { other.stream.close() }
        #expect(Self.wasReset(other))
        #expect(h.server.refusals["not_gateway"] == 1)
        #expect(h.server.streamsServed == 0)

        let any = try Harness(policy: DiscoverPolicy(allow: .any))
        let allowed = try any.open(leaf: "other", cluster: "west")
        defer { allowed.stream.close() }
        _ = try allowed.snapshot()
        #expect(any.server.streamsServed == 1)
    }

    @Test("a gateway identity asking as another cluster is refused (also with allow: any)")
    func clusterFieldMismatch() throws {
        for allow in DiscoverPolicy.Allow.allCases {
            let h = try Harness(policy: DiscoverPolicy(allow: allow))
            let north = try h.open(leaf: "west", cluster: "north")
            defer { north.stream.close() }
            #expect(Self.wasReset(north), "allow: \(allow)")
            #expect(h.server.refusals["cluster_mismatch"] == 1)
            let west = try h.open(leaf: "west", cluster: "west")
            defer { west.stream.close() }
            _ = try west.snapshot()
        }
    }

    @Test("perIdentity: the extra stream of one identity is reset; other identities and the open streams are unaffected")
    func perIdentityCap() async throws {
        let h = try Harness(keepalive: .milliseconds(200), maxStreams: 16, policy: DiscoverPolicy(allow: .any, perIdentity: 2))
        let a = try h.open(leaf: "west")
        let b = try h.open(leaf: "west")
        defer { a.stream.close(); b.stream.close() }
        _ = try a.snapshot()
        _ = try b.snapshot()
        let c = try h.open(leaf: "west")
        defer { c.stream.close() }
        #expect(Self.wasReset(c))
        #expect(h.server.refusals["per_identity_limit"] == 1)
        let other = try h.open(leaf: "other")
        defer { other.stream.close() }
        _ = try other.snapshot()
        #expect(h.server.activeStreams == 3)
        #expect(try a.next(seconds: 2) == .keepalive, "the open streams go on")
        // A slot of that identity frees when one of its streams ends.
        a.stream.close()
        #expect(await DiscoveryServerTests.waitFor { h.server.activeStreams == 2 })
        let d = try h.open(leaf: "west")
        defer { d.stream.close() }
        _ = try d.snapshot()
    }

    @Test("junk from the peer after its header ends the stream at once, not at the next keepalive")
    func junkClosesAtOnce() async throws {
        let h = try Harness(keepalive: .seconds(30))
        let west = try h.open(leaf: "west")
        defer { west.stream.close() }
        _ = try west.snapshot()
        let sent = ContinuousClock.now
        try west.stream.write(Array("not a frame".utf8), deadline: .now + .seconds(1))
        #expect(west.waitForEnd(seconds: 2), "the stream ended")
        #expect(ContinuousClock.now - sent < .seconds(1), "within a second: \(ContinuousClock.now - sent)")
        #expect(await DiscoveryServerTests.waitFor(seconds: 2) { h.server.activeStreams == 0 })
    }
}
