import Foundation
import MeshgateLoad
import MeshgateWire
import Testing
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

/// The service mirror when a linked gateway fails: north killed, hung (SIGSTOP) or flapping,
/// while east→west traffic must stay untouched. Three real gateway processes per test
/// (`MirrorMesh`), under the serialized `TLSEndToEnd` umbrella like `MirrorIntegrationTests`.
extension TLSEndToEnd {
    @Suite struct MirrorOutageTests {
        /// A linked mesh whose route to north carried intact traffic before `event`.
        static func meshWithNorthIntact(_ label: String, before event: String) throws -> (MirrorMesh, west: UInt16, north: UInt16) {
            let (mesh, westPort, northPort) = try MirrorFixture.linkedMesh(label)
            let before = MirrorTraffic.waitIntact(northPort)
            guard before.ok else {
                mesh.shutdown()
                throw TestFailure("east→north before \(event): \(before.last) \(before.last.failureSamples)\n\(mesh.logs)")
            }
            return (mesh, westPort, northPort)
        }

        /// A new connection to north's route (`port`) is reset at once and counted as
        /// `gateway_refused_link_down`.
        static func expectRefusedFast(_ mesh: MirrorMesh, port: UInt16, refusedBefore: Int) throws {
            let (refusal, refused, attempts) = try mesh.refusedAsLinkDown(port: port, before: refusedBefore)
            #expect(refusal.connected && refusal.fast(), "a new connection to north's route is reset at once: \(refusal)\n\(mesh.logs)")
            #expect(refused >= refusedBefore + 1, "gateway_refused_link_down: \(refusedBefore) → \(refused) after \(attempts) connection(s)\n\(mesh.logs)")
        }

        /// The steady east→west streams kept exchanging and every new connection was intact.
        static func expectKeptFlowing(_ outcome: SteadyTraffic.Outcome) {
            #expect(outcome.exchanges.allSatisfy { $0 >= 50 }, "the streams kept exchanging: \(outcome.exchanges)")
            expectNewConnectionsIntact(outcome)
        }

        /// Every new east→west connection made during the outage was intact.
        static func expectNewConnectionsIntact(_ outcome: SteadyTraffic.Outcome) {
            #expect(outcome.connections > 0 && outcome.intact == outcome.connections, "\(outcome.intact) of \(outcome.connections) new connections intact")
        }
        // MARK: - 1. A dead gateway

        @Test("north killed: its routes refuse new connections fast (link_down) while east→west traffic is untouched; north restarted carries traffic again")
        func deadGatewayFailsFast() throws {
            let (mesh, westPort, northPort) = try Self.meshWithNorthIntact("mirror-kill", before: "the kill")
            defer { mesh.shutdown() }
            let traffic = try SteadyTraffic(port: westPort, streams: 8, seed: 0x3000)
            #expect(waitUntil(timeout: 10) { traffic.rounds >= 1 })
            let refusedBefore = try mesh.east.counter("gateway_refused_link_down")

            let killedAt = Date()
            mesh.north.process.signal(SIGKILL)
            #expect(mesh.north.process.waitExit(timeout: 10) != nil)
            let down = mesh.east.waitLog("link north: down after", timeout: 10)
            let downMs = millisSince(killedAt)
            try #require(down, "east takes the link to north down within 10 s of the kill\n\(mesh.logs)")
            try Self.expectRefusedFast(mesh, port: northPort, refusedBefore: refusedBefore)
            #expect(millisSince(killedAt) < 10_000, "north's routes failed fast within 10 s of the kill")
            let during = MirrorTraffic.check(westPort)
            #expect(during.allOK, "new connections east→west during the outage: \(during) \(during.failureSamples)\n\(mesh.logs)")

            // north again, same config and ports; east is not restarted.
            let restartedAt = Date()
            try mesh.restart("north")
            let back = MirrorTraffic.waitIntact(northPort, timeout: 10)
            let backMs = millisSince(restartedAt)
            #expect(back.ok, "north's route carries traffic within 10 s of its restart: \(back.last) \(back.last.failureSamples)\n\(mesh.logs)")
            #expect(!mesh.east.logLines(containing: "link north: up (probe answered in").isEmpty, "\(mesh.east.logTail)")
            #expect(mesh.east.logLines(containing: "route \(MirrorFixture.northKey) removed").isEmpty, "routes stay while the link is down")
            let after = MirrorTraffic.check(westPort)
            let outcome = traffic.finish()
            print("mirror kill: link down \(MirrorFixture.ms(downMs)) ms after SIGKILL; north's route back \(MirrorFixture.ms(backMs)) ms after restart")
            #expect(outcome.problems.isEmpty, "east→west during the outage: \(outcome.problems.prefix(5))\n\(mesh.logs)")
            Self.expectKeptFlowing(outcome)
            #expect(after.allOK, "\(after) \(after.failureSamples)")
            #expect(mesh.east.process.process.isRunning)
        }

        // MARK: - 2. A hung gateway

        @Test("north hung (SIGSTOP): probes take the link down, its routes refuse fast, east→west is untouched; SIGCONT brings it back")
        func hungGatewayDetectedByProbes() throws {
            let (mesh, westPort, northPort) = try Self.meshWithNorthIntact("mirror-stop", before: "the hang")
            defer { mesh.shutdown() }
            // Established before the hang: left alone while the link is down, it carries on afterwards.
            let held = try PacedStream(MirrorTraffic.endpoint(northPort), seed: 0x4100)
            let traffic = try SteadyTraffic(port: westPort, streams: 8, seed: 0x4000)
            #expect(waitUntil(timeout: 10) { traffic.rounds >= 1 })
            let refusedBefore = try mesh.east.counter("gateway_refused_link_down")

            let stoppedAt = Date()
            mesh.north.process.signal(SIGSTOP)
            let down = mesh.east.waitLog("link north: down after", timeout: 10)
            let downMs = millisSince(stoppedAt)
            if !down { mesh.north.process.signal(SIGCONT) }
            try #require(down, "the probes take the link to north down within 10 s\n\(mesh.logs)")
            try Self.expectRefusedFast(mesh, port: northPort, refusedBefore: refusedBefore)
            let during = MirrorTraffic.check(westPort)
            #expect(during.allOK, "new connections east→west while north hangs: \(during) \(during.failureSamples)\n\(mesh.logs)")

            let resumedAt = Date()
            mesh.north.process.signal(SIGCONT)
            let up = mesh.east.waitLog("link north: up (probe answered in", timeout: 10)
            let upMs = millisSince(resumedAt)
            #expect(up, "east sees north up within 10 s of SIGCONT\n\(mesh.logs)")
            let back = MirrorTraffic.waitIntact(northPort, timeout: 10)
            #expect(back.ok, "north's route carries traffic again: \(back.last) \(back.last.failureSamples)\n\(mesh.logs)")
            held.start()
            let resumed = waitUntil(timeout: 10) { held.exchangeCount >= 20 }
            let heldResult = held.finish()
            #expect(resumed && heldResult == nil, "the stream to north opened before the hang survives it: \(heldResult ?? "ok"), \(held.exchangeCount) exchanges\n\(mesh.logs)")
            let outcome = traffic.finish()
            print("mirror hang: link down \(MirrorFixture.ms(downMs)) ms after SIGSTOP; up \(MirrorFixture.ms(upMs)) ms after SIGCONT")
            #expect(outcome.problems.isEmpty, "east→west while north hung: \(outcome.problems.prefix(5))\n\(mesh.logs)")
            Self.expectKeptFlowing(outcome)
            #expect(mesh.east.logLines(containing: "route \(MirrorFixture.northKey) removed").isEmpty)
        }

        // MARK: - 3. A flapping link

        @Test("north flapping (SIGSTOP/SIGCONT cycles): east→west and east's local service are untouched and not delayed")
        func flappingLinkIsolated() throws {
            let (mesh, westPort, northPort) = try MirrorFixture.linkedMesh("mirror-flap") { echo in
                [ServiceSpec(name: "local", ports: [(7400, echo.port)], endpoints: ["127.0.0.1:\(echo.port)"])]
            }
            defer { mesh.shutdown() }
            let pki = try GatewayPKI.shared()
            let traffic = try SteadyTraffic(port: westPort, streams: 8, seed: 0x8000)
            #expect(waitUntil(timeout: 10) { traffic.rounds >= 1 })
            var slowest = 0.0
            var localAnswers = 0
            for cycle in 0..<2 {
                mesh.north.process.signal(SIGSTOP)
                let down = mesh.east.waitLog("link north: down after", count: cycle + 1, timeout: 10)
                // While north hangs: new connections to west complete as fast as before, and east's
                // own service answers a gateway client (west's identity) on east's inbound port.
                let start = Date()
                let r = MirrorTraffic.check(westPort, sizes: [64 << 10, 1000], concurrency: 2)
                slowest = max(slowest, Date().timeIntervalSince(start))
                #expect(r.allOK, "cycle \(cycle): east→west while north hangs: \(r) \(r.failureSamples)\n\(mesh.logs)")
                let client = try GatewayTLSClient.start(
                    port: mesh.ports.eastInbound, identity: pki.gateway("west"), trust: pki.gateway("west").trust)
                let header = try TransportHeader.connect(ConnectTarget(namespace: "default", name: "local", port: 7400), clientIdentity: nil).encoded()
                let hello = "local during flap \(cycle)\n"
                try client.writeStdin(header + Array(hello.utf8))
                if client.waitStdout(count: hello.utf8.count, timeout: 5), String(decoding: client.stdoutData, as: UTF8.self) == hello {
                    localAnswers += 1
                }
                client.kill()
                mesh.north.process.signal(SIGCONT)
                #expect(down, "cycle \(cycle): the link to north went down\n\(mesh.logs)")
                let up = mesh.east.waitLog("link north: up (probe answered in", count: cycle + 1, timeout: 10)
                #expect(up, "cycle \(cycle): the link to north came back\n\(mesh.logs)")
            }
            let back = MirrorTraffic.waitIntact(northPort, timeout: 10)
            #expect(back.ok, "north's route carries traffic after the flapping: \(back.last) \(back.last.failureSamples)")
            let outcome = traffic.finish()
            print("mirror flap: slowest east→west check while north hung \(MirrorFixture.ms(slowest * 1000)) ms")
            #expect(localAnswers == 2, "east's local service answered during both hangs")
            #expect(slowest < 5, "new east→west connections were not held up by north: \(slowest) s")
            #expect(outcome.problems.isEmpty, "east→west during the flapping: \(outcome.problems.prefix(5))\n\(mesh.logs)")
            Self.expectNewConnectionsIntact(outcome)
            #expect(mesh.east.logLines(containing: "route \(MirrorFixture.westKey) removed").isEmpty)
        }
    }
}
