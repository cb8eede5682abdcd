import Foundation
import Logging
import MeshgateLoop
import MeshgateProxy
import MeshgateTLS
import MeshgateWire
import Testing

@testable import MeshgateControl
import MeshgateTestKit

#if canImport(Glibc)
import Glibc
#endif

/// `LinkMirror`'s probes: alive with a round trip, down after failed rounds, live gateways, hung
/// peers, and stopping while a connect hangs (the suite and its helpers: LinkMirrorTests.swift).
extension LinkMirrorTests {
    @Test("probes: answered → alive with a round trip; listener closed → down after failureThreshold rounds; back → alive")
    func probesUpDownUp() async throws {
        let server = try MirrorTestServer()
        defer { server.stop() }
        let observed = Observed()
        let mirror = try Self.startedMirror(gateways: [server.address], observed: observed)
        defer { mirror.stop() }

        #expect(await eventually { mirror.state.lastRoundTrip != nil }, "a probe was answered")
        let rtt = try #require(mirror.state.lastRoundTrip)
        #expect(rtt > .zero && rtt < .milliseconds(150), "\(rtt)")
        #expect(mirror.state.alive)
        #expect(mirror.state.liveGateways == [server.address])
        #expect(server.probesAnswered >= 1)

        server.closeListener()
        let closed = ContinuousClock.now
        #expect(await eventually(timeout: .seconds(4)) { !mirror.state.alive }, "down")
        let downAfter = ContinuousClock.now - closed
        #expect(observed.log.contains("probe round 1 of 2 failed"), "one failed round is not enough: \(observed.log.all)")
        #expect(await eventually { observed.log.contains("down after 2 failed probe round(s)") }, "\(observed.log.all)")
        #expect(downAfter >= .milliseconds(150), "two rounds take at least one interval (less jitter): \(downAfter)")
        #expect(await eventually { observed.states.value.contains { !$0.alive } }, "onChange reported the link down")
        #expect(mirror.state.liveGateways == [server.address], "live gateways stay as last known while down")

        try server.reopenListener()
        #expect(await eventually(timeout: .seconds(4)) { mirror.state.alive }, "back up")
        #expect(await eventually { observed.log.contains("up (probe answered") }, "\(observed.log.all)")
        let upAgain = await eventually {
            let states = observed.states.value
            let lastUp = states.lastIndex(where: { $0.alive }) ?? -1
            let lastDown = states.lastIndex(where: { !$0.alive }) ?? -1
            return lastUp > lastDown
        }
        #expect(upAgain, "onChange reported the link up again")
    }

    @Test("a gateway that stops answering probes (closes after the header) takes the link down too")
    func unansweredProbes() async throws {
        let server = try MirrorTestServer()
        defer { server.stop() }
        let observed = Observed()
        let mirror = try Self.startedMirror(gateways: [server.address], observed: observed)
        defer { mirror.stop() }
        #expect(await eventually { mirror.state.lastRoundTrip != nil })
        server.answerProbes = false
        #expect(await eventually(timeout: .seconds(4)) { !mirror.state.alive })
        #expect(await eventually { observed.log.contains("closed before answering") }, "\(observed.log.all)")
        server.answerProbes = true
        #expect(await eventually(timeout: .seconds(4)) { mirror.state.alive })
    }

    @Test("two gateway addresses, one dead: liveGateways holds only the live one; the stream uses it")
    func oneDeadGateway() async throws {
        let server = try MirrorTestServer(scripts: [{ session in session.send(Self.snapshot(1, [Self.service("default", "web", [80])])) }])
        defer { server.stop() }
        let dead = try Self.deadAddress()
        let observed = Observed()
        let mirror = try Self.startedMirror(gateways: [dead, server.address], observed: observed)
        defer { mirror.stop() }
        #expect(mirror.state.liveGateways == [dead, server.address], "all resolved addresses until a round answers")
        #expect(await eventually { mirror.state.liveGateways == [server.address] }, "\(mirror.state.liveGateways)")
        #expect(mirror.state.alive)
        #expect(mirror.state.lastRoundTrip != nil)
        #expect(await eventually { mirror.state.synced }, "the discover stream got past the dead address")
        // Several more rounds: the dead one never comes back.
        try await Task.sleep(for: .milliseconds(700))
        #expect(mirror.state.liveGateways == [server.address])
        #expect(mirror.state.alive)
    }

    @Test("a hung gateway (TCP accepted, no TLS): probes time out, the link goes down, stop() returns within a few seconds")
    func hungGateway() async throws {
        let server = try MirrorTestServer(mode: .hung)
        defer { server.stop() }
        let observed = Observed()
        let mirror = try Self.startedMirror(gateways: [server.address], connectTimeout: .seconds(1), observed: observed)
        #expect(await eventually(timeout: .seconds(4)) { !mirror.state.alive }, "down")
        #expect(mirror.state.lastRoundTrip == nil)
        #expect(mirror.state.streaming == false)
        #expect(mirror.state.synced == false)
        #expect(await eventually { observed.log.contains("timed out") }, "\(observed.log.all)")
        let started = ContinuousClock.now
        mirror.stop()
        let took = ContinuousClock.now - started
        #expect(took < .seconds(3), "stop() took \(took)")
    }

    @Test("stop() while the discover stream is connecting to a hung gateway, with the default connect timeout (5 s)")
    func stopDuringConnectDefaultTimeout() async throws {
        let server = try MirrorTestServer(mode: .hung)
        defer { server.stop() }
        let observed = Observed()
        let mirror = try Self.startedMirror(gateways: [server.address], connectTimeout: .seconds(5), observed: observed)
        #expect(await eventually(timeout: .seconds(4)) { !mirror.state.alive }, "down")
        let started = ContinuousClock.now
        mirror.stop()
        let took = ContinuousClock.now - started
        // The documented bound is "at most a probe timeout or so".
        #expect(took < .seconds(2), "stop() took \(took)")
    }
}
