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

/// `LinkMirror` against an in-process scripted gateway (`MirrorTestServer`): the discover stream
/// (snapshot, changes, limits, reconnects) and the probes (alive, live gateways, hung peers).
@Suite(.serialized) struct LinkMirrorTests {
    /// Probes every 200 ms (±10 %), 150 ms timeout, down after 2 failed rounds.
    static let fastProbes = LinkSettings(
        probeInterval: .milliseconds(200), probeTimeout: .milliseconds(150), failureThreshold: 2, maxServices: 100,
        maxUpdatesPerSecond: 100)

    /// Probes every 5 s (1 s timeout, down after 3 failed rounds), out of the way of a stream test.
    static func slowProbes(maxServices: Int = 100, maxUpdatesPerSecond: Int = 100) -> LinkSettings {
        LinkSettings(
            probeInterval: .seconds(5), probeTimeout: .seconds(1), failureThreshold: 3, maxServices: maxServices,
            maxUpdatesPerSecond: maxUpdatesPerSecond)
    }

    /// Everything one test's mirror reports.
    final class Observed: @unchecked Sendable {
        let log = MirrorLogRecorder()
        let states = LockedBox<[MirrorState]>([])
        var changes: Int { states.value.count }
    }

    static func service(_ ns: String, _ name: String, _ ports: [UInt16]) -> DiscoveredService {
        DiscoveredService(namespace: ns, name: name, ports: ports)
    }

    static func byKey(_ services: [DiscoveredService]) -> [String: DiscoveredService] {
        Dictionary(uniqueKeysWithValues: services.map { ("\($0.namespace)/\($0.name)", $0) })
    }

    static func snapshot(_ generation: UInt64, _ services: [DiscoveredService]) -> [DiscoveryMessage] {
        [.snapshotBegin(generation: generation)] + services.map { .upsert($0) } + [.snapshotEnd(generation: generation)]
    }

    /// A mirror of cluster `west` at `gateways`, as cluster `east`.
    static func mirror(
        gateways: [SocketAddress], settings: LinkSettings = fastProbes, initial: MirrorState? = nil,
        connectTimeout: Duration = .seconds(2), observed: Observed
    ) throws -> LinkMirror {
        let client = try MirrorTestPKI.eastClient()
        let bundle = LinkBundle(
            cluster: "west", gateways: gateways.map { HostPort(host: $0.host, port: $0.port) }, identity: MirrorTestPKI.westIdentity,
            anchors: [])
        return LinkMirror(
            bundle: bundle, localCluster: "east", settings: settings, initial: initial, credentials: { client },
            logger: observed.log.logger(), connectTimeout: connectTimeout,
            onChange: { mirror in
                let s = mirror.state
                observed.states.modify { $0.append(s) }
            })
    }

    /// `mirror(…)`, started; stop it.
    static func startedMirror(
        gateways: [SocketAddress], settings: LinkSettings = fastProbes, initial: MirrorState? = nil,
        connectTimeout: Duration = .seconds(2), observed: Observed
    ) throws -> LinkMirror {
        let mirror = try mirror(
            gateways: gateways, settings: settings, initial: initial, connectTimeout: connectTimeout, observed: observed)
        mirror.start()
        return mirror
    }

    /// An address nothing listens on (connections refused).
    static func deadAddress() throws -> SocketAddress {
        let fd = try Socket.listen(on: try SocketAddress.resolve("127.0.0.1:0"), reusePort: false)
        let address = try Socket.localAddress(fd)
        Glibc.close(fd)
        return address
    }

    // MARK: - The discover stream

    @Test("a snapshot fills services and synced; later upserts and removes are applied; a new snapshot replaces; onChange is called")
    func snapshotAndChanges() async throws {
        let web = Self.service("default", "web", [80, 443])
        let db = Self.service("ops", "db", [5432])
        let api = Self.service("default", "api", [8080])
        let web80 = Self.service("default", "web", [80])
        let only = Self.service("default", "only", [9000])
        let later = Self.service("default", "later", [9001])
        let changes = MirrorGate()
        let resnapshot = MirrorGate()
        let finish = MirrorGate()
        let server = try MirrorTestServer(scripts: [
            { session in
                session.send(Self.snapshot(7, [web, db]))
                guard changes.wait() else { return }
                session.send([.upsert(api), .upsert(web80), .remove(namespace: "ops", name: "db")])
                guard resnapshot.wait() else { return }
                // A snapshot in two parts: nothing changes until its end arrives.
                session.send([.snapshotBegin(generation: 8), .upsert(only), .keepalive])
                guard finish.wait() else { return }
                session.send([.upsert(later), .snapshotEnd(generation: 8)])
            }
        ])
        defer {
            changes.open(); resnapshot.open(); finish.open()
            server.stop()
        }
        let observed = Observed()
        let mirror = try Self.mirror(gateways: [server.address], observed: observed)
        #expect(mirror.state.synced == false)
        #expect(mirror.state.services.isEmpty)
        mirror.start()
        defer { mirror.stop() }

        #expect(await eventually { mirror.state.synced }, "the snapshot arrived")
        #expect(mirror.state.services == Self.byKey([web, db]))
        #expect(mirror.state.streaming)
        #expect(mirror.state.liveGateways == [server.address])
        #expect(server.clusters == ["east"], "the discover header names our cluster")
        #expect(
            await eventually { observed.states.value.contains { $0.synced && $0.services == Self.byKey([web, db]) } },
            "onChange saw the snapshot")

        changes.open()
        #expect(await eventually { mirror.state.services == Self.byKey([api, web80]) }, "\(mirror.state.services)")
        #expect(
            await eventually { observed.states.value.contains { $0.services == Self.byKey([api, web80]) } },
            "onChange reported the changes")

        resnapshot.open()
        try await Task.sleep(for: .milliseconds(300))
        #expect(mirror.state.services == Self.byKey([api, web80]), "an unfinished snapshot changes nothing")
        finish.open()
        #expect(await eventually { mirror.state.services == Self.byKey([only, later]) }, "\(mirror.state.services)")
        #expect(mirror.state.synced)
        #expect(server.discoverConnections == 1, "no reconnect under the limits")

        // stop() ends the stream promptly; the server sees the end.
        let session = try #require(server.session(1))
        let started = ContinuousClock.now
        mirror.stop()
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(session.waitForPeerEnd(seconds: 3), "the mirror closed its stream on stop")
        let count = observed.changes
        try await Task.sleep(for: .milliseconds(300))
        #expect(observed.changes == count, "no onChange after stop")
    }

    @Test("maxServices = 2 with 3 in the snapshot: 2 kept; further new services refused, existing ones updated")
    func maxServicesLimit() async throws {
        let a = Self.service("default", "a", [1])
        let b = Self.service("default", "b", [2])
        let c = Self.service("default", "c", [3])
        let d = Self.service("default", "d", [4])
        let b2 = Self.service("default", "b", [2, 22])
        let step = MirrorGate()
        let step2 = MirrorGate()
        let server = try MirrorTestServer(scripts: [
            { session in
                session.send(Self.snapshot(1, [a, b, c]))
                guard step.wait() else { return }
                session.send([.upsert(d), .upsert(b2)])
                guard step2.wait() else { return }
                session.send([.remove(namespace: "default", name: "a"), .upsert(d)])
            }
        ])
        defer {
            step.open(); step2.open()
            server.stop()
        }
        let observed = Observed()
        let settings = Self.slowProbes(maxServices: 2)
        let mirror = try Self.startedMirror(gateways: [server.address], settings: settings, observed: observed)
        defer { mirror.stop() }

        #expect(await eventually { mirror.state.synced })
        #expect(mirror.state.services.count == 2)
        #expect(mirror.state.services == Self.byKey([a, b]), "the first two of the snapshot are kept")
        #expect(observed.log.contains("more than 2 services"), "\(observed.log.all)")

        step.open()
        #expect(await eventually { mirror.state.services["default/b"] == b2 }, "an existing service is still updated")
        #expect(mirror.state.services.count == 2)
        #expect(mirror.state.services["default/d"] == nil, "a third service is refused")
        #expect(
            await eventually { mirror.health.lastError?.contains("default/d") == true }, "\(String(describing: mirror.health.lastError))")
        #expect(observed.log.all.filter { $0.contains("links limits.services") }.count == 1, "logged once: \(observed.log.all)")
        #expect(mirror.health.refusedServices == 2, "c in the snapshot, d in the update")

        step2.open()
        #expect(await eventually { mirror.state.services == Self.byKey([b2, d]) }, "room again after a remove: \(mirror.state.services)")
        #expect(server.discoverConnections == 1, "the limit refuses services, it does not end the stream")
    }

    @Test("more updates than maxUpdatesPerSecond × 10 in a burst: the mirror closes the stream and reconnects; services stay as last known")
    func updateRateLimit() async throws {
        let stream = try OffendingStream { session, web in
            // Burst of 10 (rate 1/s), one token taken by the snapshot: 15 updates are over it.
            // They change nothing, so the state must not move whether or not some were applied.
            session.send(Array(repeating: DiscoveryMessage.upsert(web), count: 15))
        }
        defer { stream.stop() }
        let observed = Observed()
        let mirror = try Self.startedMirror(gateways: [stream.server.address], settings: Self.slowProbes(maxUpdatesPerSecond: 1), observed: observed)
        defer { mirror.stop() }

        await stream.expectEndedByTheMirror(mirror)
        #expect(observed.log.contains("updates a second"), "\(observed.log.all)")
        #expect(observed.log.contains("closed by us"), "\(observed.log.all)")
        await stream.expectSecondSnapshotReplaces(mirror)
        #expect(stream.server.discoverConnections == 2)
    }

    @Test("a burst within maxUpdatesPerSecond × 10 is taken without reconnecting")
    func burstWithinLimit() async throws {
        let services = (0..<9).map { Self.service("default", "s\($0)", [UInt16(1000 + $0)]) }
        let go = MirrorGate()
        let server = try MirrorTestServer(scripts: [
            { session in
                session.send(Self.snapshot(1, []))
                guard go.wait() else { return }
                // Snapshot took 1 of 10 tokens: 9 updates fit.
                session.send(services.map { .upsert($0) })
            }
        ])
        defer {
            go.open()
            server.stop()
        }
        let observed = Observed()
        let settings = Self.slowProbes(maxUpdatesPerSecond: 1)
        let mirror = try Self.startedMirror(gateways: [server.address], settings: settings, observed: observed)
        defer { mirror.stop() }
        #expect(await eventually { mirror.state.synced })
        go.open()
        #expect(await eventually { mirror.state.services.count == 9 }, "\(mirror.state.services.keys.sorted())")
        try await Task.sleep(for: .milliseconds(700))
        #expect(server.discoverConnections == 1)
        #expect(!observed.log.contains("updates a second"), "\(observed.log.all)")
    }

    @Test("a malformed frame: the mirror closes the stream and reconnects; the last known services are kept")
    func malformedFrame() async throws {
        let stream = try OffendingStream { session, _ in
            session.sendRaw([0x00, 0x01, 0x09])  // a frame of unknown type 9
        }
        defer { stream.stop() }
        let observed = Observed()
        let mirror = try Self.startedMirror(
            gateways: [stream.server.address], settings: LinkSettings(probeInterval: .seconds(5)), observed: observed)
        defer { mirror.stop() }

        await stream.expectEndedByTheMirror(mirror)
        #expect(observed.log.contains("malformed frame"), "\(observed.log.all)")
        await stream.expectSecondSnapshotReplaces(mirror)
    }

    @Test("a gateway that closes the stream: reconnect; services stay; a snapshotEnd without a begin is refused")
    func closedStreamAndOrphanEnd() async throws {
        let web = Self.service("default", "web", [80])
        let third = MirrorGate()
        let server = try MirrorTestServer(scripts: [
            { session in
                session.send(Self.snapshot(1, [web]))
                session.stream.close()
            },
            { session in
                session.send([.snapshotEnd(generation: 5)])
                _ = session.waitForPeerEnd(seconds: 5)
            },
            { session in
                guard third.wait() else { return }
                session.send(Self.snapshot(6, []))
            },
        ])
        defer {
            third.open()
            server.stop()
        }
        let observed = Observed()
        let mirror = try Self.startedMirror(gateways: [server.address], settings: LinkSettings(probeInterval: .seconds(5)), observed: observed)
        defer { mirror.stop() }
        #expect(await eventually { server.discoverConnections == 3 }, "reconnected twice: \(server.discoverConnections)")
        #expect(mirror.state.services == Self.byKey([web]))
        #expect(mirror.state.synced)
        #expect(observed.log.contains("closed by west's gateway"), "\(observed.log.all)")
        #expect(observed.log.contains("never began"), "\(observed.log.all)")
        third.open()
        #expect(await eventually { mirror.state.services.isEmpty }, "an empty snapshot empties the mirror")
    }

    @Test("an initial state carries over: its services stay until the new mirror's first snapshot")
    func initialStateCarriesOver() async throws {
        let old = Self.service("default", "old", [1])
        let fresh = Self.service("default", "fresh", [2])
        let go = MirrorGate()
        let server = try MirrorTestServer(scripts: [
            { session in
                guard go.wait() else { return }
                session.send(Self.snapshot(1, [fresh]))
            }
        ])
        defer {
            go.open()
            server.stop()
        }
        var initial = MirrorState()
        initial.services = Self.byKey([old])
        initial.synced = true
        initial.streaming = true
        let observed = Observed()
        let mirror = try Self.mirror(gateways: [server.address], settings: LinkSettings(probeInterval: .seconds(5)), initial: initial, observed: observed)
        #expect(mirror.state.streaming == false, "a new mirror is not streaming yet")
        #expect(mirror.state.services == Self.byKey([old]))
        mirror.start()
        defer { mirror.stop() }
        #expect(await eventually { mirror.state.streaming })
        #expect(mirror.state.services == Self.byKey([old]), "kept while the snapshot has not arrived")
        go.open()
        #expect(await eventually { mirror.state.services == Self.byKey([fresh]) })
    }

    // MARK: - Probes
}
