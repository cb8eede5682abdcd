import Foundation
import Logging
import MeshgateLoop
import MeshgateProxy
import MeshgateTLS
import Testing

@testable import MeshgateControl
import MeshgateTestKit

/// Probe rounds of several addresses (issue 11, 10–13): all addresses at once under one
/// deadline, so dead ones delay no live one; a host name that does not resolve is warned about
/// at most once per interval.
@Suite(.serialized) struct LinkProbeRoundTests {
    @Test("a round of three hung addresses and a live one ends within the probe timeout, and the live one answered")
    func deadAddressesDoNotDelayTheLiveOne() throws {
        let gateways = try LiveAndHungGateways(hungCount: 3)
        defer { gateways.stop() }
        let (live, hung) = (gateways.live, gateways.hung)
        let settings = LinkSettings(
            probeInterval: .seconds(10), probeTimeout: .milliseconds(400), failureThreshold: 2, maxServices: 100,
            maxUpdatesPerSecond: 100)
        let observed = LinkMirrorTests.Observed()
        let mirror = try LinkMirrorTests.mirror(
            gateways: hung.map(\.address) + [live.address], settings: settings, observed: observed)
        let start = ContinuousClock.now
        let round = mirror.probeRound(hung.map(\.address) + [live.address])
        let took = ContinuousClock.now - start
        // One after the other this takes 3 × 400 ms before the live address is even tried.
        #expect(took < .milliseconds(900), "the round took \(took)")
        #expect(round.answered.map(\.0) == [live.address], "\(round.answered) \(round.failed)")
        #expect(round.failed.count == 3 && round.local.isEmpty, "\(round.failed) \(round.local)")
    }

    @Test("meshgate check probes a bundle's addresses at once: three hung ones cost one timeout, not three")
    func checkProbesConcurrently() throws {
        let gateways = try LiveAndHungGateways(hungCount: 3)
        defer { gateways.stop() }
        let (live, hung) = (gateways.live, gateways.hung)
        let one = try GatewayCheckTests.bundle("west", live.address)
        let bundle = LinkBundle(
            cluster: "west", gateways: (hung + [live]).map { HostPort(host: "127.0.0.1", port: $0.address.port) },
            identity: one.identity, anchors: one.anchors)
        let dir = try GatewayCheckTests.setUp(links: [bundle])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let start = ContinuousClock.now
        let results = GatewayCheck.run(configPath: dir + "/gateway.yaml", probeTimeout: .milliseconds(600))
        let took = ContinuousClock.now - start
        #expect(took < .milliseconds(1500), "meshgate check took \(took)")
        let probes = results.filter { $0.name.hasPrefix("link west: 127.0.0.1:") }
        #expect(probes.map(\.status) == [.failed, .failed, .failed, .ok], "\(probes)")
    }

    @Test("a running mirror with a hung and a live address stays up, the live one listed")
    func linkStaysUp() async throws {
        let live = try MirrorTestServer()
        let hung = try MirrorTestServer(mode: .hung)
        defer {
            live.stop()
            hung.stop()
        }
        let settings = LinkSettings(
            probeInterval: .milliseconds(150), probeTimeout: .milliseconds(300), failureThreshold: 2, maxServices: 100,
            maxUpdatesPerSecond: 100)
        let observed = LinkMirrorTests.Observed()
        let mirror = try LinkMirrorTests.startedMirror(gateways: [hung.address, live.address], settings: settings, observed: observed)
        defer { mirror.stop() }
        #expect(await eventually(timeout: .seconds(5)) { mirror.health.probesAnswered >= 4 }, "\(mirror.health)")
        #expect(mirror.state.alive)
        #expect(mirror.state.liveGateways == [live.address])
        #expect(!observed.log.contains("down after"), "\(observed.log.all)")
    }

    @Test("an unresolvable gateway host name is warned about once per interval, not every round")
    func dnsFailureWarnsOnce() async throws {
        let live = try MirrorTestServer()
        defer { live.stop() }
        let observed = LinkMirrorTests.Observed()
        let client = try MirrorTestPKI.eastClient()
        let host = "no-such-host-\(UUID().uuidString.prefix(8).lowercased()).invalid"
        let bundle = LinkBundle(
            cluster: "west", gateways: [HostPort(host: host, port: 4143), HostPort(host: "127.0.0.1", port: live.address.port)],
            identity: MirrorTestPKI.westIdentity, anchors: [])
        let mirror = LinkMirror(
            bundle: bundle, localCluster: "east", settings: LinkMirrorTests.fastProbes, initial: nil, credentials: { client },
            logger: observed.log.logger(), onChange: { _ in })
        mirror.start()
        defer { mirror.stop() }
        #expect(await eventually(timeout: .seconds(5)) { mirror.health.probesAnswered >= 5 }, "\(mirror.health)")
        let warnings = observed.log.all.filter { $0.contains("\(host):4143 does not resolve") }
        #expect(warnings.count == 1, "\(warnings)")
        #expect(mirror.state.alive)
    }
}
