import Foundation
import MeshgateLoad
import MeshgateWire
import Testing
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

/// The service mirror end to end: three real gateway processes on loopback (east, west, north)
/// under one anchor. east links to west and north with bundles printed by `meshgate link` and
/// added with `meshgate link add`; west and north export echo backends. Each test starts its
/// own three gateways (`MirrorMesh`) and kills them when it ends. Under the serialized
/// `TLSEndToEnd` umbrella so it never competes with the other process-based suites for the cores.
/// This suite covers the routes themselves (mirroring, propagation, a cut stream, bundles, name
/// collisions); `MirrorOutageTests` covers dead, hung and flapping gateways.
extension TLSEndToEnd {
    @Suite struct MirrorIntegrationTests {
        // MARK: - 1. Mirrored routes

        @Test("mirrored routes: west's and north's exports become routes on east that carry intact traffic; unexported and disallowed services do not")
        func mirroredRoutesCarryTraffic() throws {
            let mesh = try MirrorMesh(label: "mirror-routes")
            defer { mesh.shutdown() }
            let p = mesh.ports
            try mesh.link()
            let westPort = try #require(mesh.waitRoute(MirrorFixture.westKey, cluster: "west"), "west's echo is mirrored:\n\(mesh.logs)")
            let northPort = try #require(mesh.waitRoute(MirrorFixture.northKey, cluster: "north"), "north's echo is mirrored:\n\(mesh.logs)")
            #expect(p.eastRange.contains(westPort) && p.eastRange.contains(northPort) && westPort != northPort, "\(westPort) \(northPort)")
            for (cluster, port) in [("west", p.westInbound), ("north", p.northInbound)] {
                let started = "link \(cluster): mirror started (gateways 127.0.0.1:\(port), identity \(GatewayPKI.gatewayIdentity(cluster)))"
                #expect(mesh.east.logLines(containing: started).count == 1, "east logs `\(started)` once:\n\(mesh.logs)")
            }

            // Traffic: paced streams and integrity runs through both routes, each to its own backend.
            var streams: [(String, PacedStream)] = []
            for i in 0..<4 {
                streams.append(("west \(i)", try PacedStream(MirrorTraffic.endpoint(westPort), seed: 0x1000 + UInt64(i))))
                streams.append(("north \(i)", try PacedStream(MirrorTraffic.endpoint(northPort), seed: 0x1100 + UInt64(i))))
            }
            for (_, s) in streams { s.start() }
            let westRun = MirrorTraffic.check(westPort, sizes: [1 << 20, 256 << 10, 1000, 1], concurrency: 4)
            let northRun = MirrorTraffic.check(northPort, sizes: [1 << 20, 256 << 10, 1000, 1], concurrency: 4)
            let exchanged = waitUntil(timeout: 10) { streams.allSatisfy { $0.1.exchangeCount >= 25 } }
            let failures = streams.compactMap { name, s in s.finish().map { "\(name): \($0)" } }
            #expect(westRun.allOK && westRun.connections == 4, "east→west: \(westRun) \(westRun.failureSamples)\n\(mesh.logs)")
            #expect(northRun.allOK && northRun.connections == 4, "east→north: \(northRun) \(northRun.failureSamples)\n\(mesh.logs)")
            #expect(exchanged, "every stream exchanged 25 times: \(streams.map { $0.1.exchangeCount })")
            #expect(failures.isEmpty, "\(failures)\n\(mesh.logs)")
            // Each route reached its own cluster's backend: 4 streams + 4 integrity connections each.
            #expect(mesh.westEcho.stats.accepted == 8, "west's echo accepted \(mesh.westEcho.stats.accepted)")
            #expect(mesh.northEcho.stats.accepted == 8, "north's echo accepted \(mesh.northEcho.stats.accepted)")
            // Warm pools are on by default (links.pool idle 4): east's routes took connections
            // from them, which west and north held under their pooled idle limit, not refused.
            #expect(mesh.east.process.waitCounter("gateway_pool_hits") { $0 >= 1 } >= 1, "east's pool served clients:\n\(mesh.logs)")
            #expect(mesh.west.process.waitCounter("gateway_pool_inbound_held") { $0 >= 1 } >= 1)
            #expect(try mesh.west.counter("gateway_refused_header_timeout") == 0)

            // Not mirrored: default/secret (exported, but only to north's identity) and
            // default/internal (not exported). west's discovery server sent east one service.
            let snapshotLine = westSentOneService(mesh)
            #expect(snapshotLine, "west sent east a snapshot of exactly 1 service:\n\(mesh.west.logTail)")
            #expect(mesh.east.logLines(containing: "secret-west").isEmpty, "\(mesh.east.logLines(containing: "secret-west"))")
            #expect(mesh.east.logLines(containing: "internal-west").isEmpty, "\(mesh.east.logLines(containing: "internal-west"))")
            let listening = p.eastRange.filter { LoopbackPorts.connectErrno($0) == 0 }
            #expect(Set(listening) == [westPort, northPort], "east listens on the two mirrored routes only: \(listening)")
            #expect(mesh.east.logLines(containing: "has no listener").isEmpty)

            // With mirrors running, east still drains and exits 0 on SIGTERM.
            #expect(mesh.east.stop() == 0, "east stops cleanly with its mirrors running\n\(mesh.east.logTail)")
        }

        /// west logged `discover stream from east (…): 1 service(s) in the snapshot`.
        private func westSentOneService(_ mesh: MirrorMesh) -> Bool {
            mesh.west.waitLog("discover stream from east (\(GatewayPKI.gatewayIdentity("east")))", timeout: 5)
                && mesh.west.logLines(containing: "discover stream from east (").allSatisfy { $0.hasSuffix(": 1 service(s) in the snapshot") }
        }

        // MARK: - 2. Propagation

        @Test("propagation: adding, changing and removing west's exports reaches east's routes within 5 s each, median ≤ 1 s")
        func propagation() throws {
            let (mesh, westPort, _) = try MirrorFixture.linkedMesh("mirror-propagation")
            defer { mesh.shutdown() }
            let echo = mesh.westEcho.port
            let base = MirrorMesh.westServices(mesh.westEcho)
            func service(_ name: String, _ ports: [UInt16]) -> ServiceSpec {
                ServiceSpec(name: name, ports: ports.map { ($0, echo) }, endpoints: ["127.0.0.1:\(echo)"])
            }
            // (what, west's services after the write, the route key east reports, added or removed)
            let steps: [(String, [ServiceSpec], String, Bool)] = [
                ("add prop-a:7100", base + [service("prop-a", [7100])], "default/prop-a-west:7100", true),
                ("prop-a gains port 7101", base + [service("prop-a", [7100, 7101])], "default/prop-a-west:7101", true),
                ("add prop-b:7200", base + [service("prop-a", [7100, 7101]), service("prop-b", [7200])], "default/prop-b-west:7200", true),
                ("prop-a loses port 7100", base + [service("prop-a", [7101]), service("prop-b", [7200])], "default/prop-a-west:7100", false),
                ("remove prop-b", base + [service("prop-a", [7101])], "default/prop-b-west:7200", false),
                ("remove prop-a", base, "default/prop-a-west:7101", false),
            ]
            var samples: [Double] = []
            var portOf: [String: UInt16] = [:]
            for (what, services, key, added) in steps {
                let line = added ? "link west: route \(key) on " : "link west: route \(key) removed"
                let before = mesh.east.logLines(containing: line).count
                let start = Date()
                try writeAtomically(GatewayYAML.registry(services), to: mesh.registryPath("west"))
                let seen = mesh.east.waitLog(line, count: before + 1, timeout: 5, every: 0.01)
                let elapsed = millisSince(start)
                samples.append(elapsed)
                try #require(seen, "\(what): east logged `\(line)` within 5 s\n\(mesh.logs)")
                if added {
                    let port = try #require(mesh.routePort(key, cluster: "west"))
                    portOf[key] = port
                    let r = MirrorTraffic.check(port, sizes: [100_000, 1000], concurrency: 1)
                    #expect(r.allOK, "\(what): traffic through the new route \(key) on \(port): \(r) \(r.failureSamples)\n\(mesh.logs)")
                } else {
                    let port = try #require(portOf[key])
                    let closed = waitUntil(timeout: 2) { LoopbackPorts.connectErrno(port) == ECONNREFUSED }
                    #expect(closed, "\(what): the listener of \(key) (\(port)) refuses connections: errno \(LoopbackPorts.connectErrno(port))")
                }
            }
            let sorted = samples.sorted()
            let median = (sorted[2] + sorted[3]) / 2
            print("mirror propagation: median \(MirrorFixture.ms(median)) ms, samples \(samples.map(MirrorFixture.ms).joined(separator: ", ")) ms")
            #expect(samples.allSatisfy { $0 <= 5000 }, "\(samples)")
            #expect(median <= 1000, "median propagation \(median) ms: \(samples)")
            // A port added to prop-a did not disturb its first one; echo-west was never touched.
            #expect(mesh.routeLines("default/prop-a-west:7100", cluster: "west").count == 1)
            #expect(mesh.east.logLines(containing: "route \(MirrorFixture.westKey) removed").isEmpty, "\(mesh.logs)")
            let r = MirrorTraffic.check(westPort)
            #expect(r.allOK, "echo-west after the changes: \(r) \(r.failureSamples)")
        }

        // MARK: - 3. A cut discover stream

        @Test("discover stream cut (ss -K): routes stay and carry new connections; the stream comes back")
        func cutDiscoverStreamKeepsRoutes() throws {
            let (mesh, westPort, _) = try MirrorFixture.linkedMesh("mirror-cut")
            defer { mesh.shutdown() }
            let westInbound = mesh.ports.westInbound
            let streamsBefore = mesh.west.process.waitCounter("gateway_discover_streams", timeout: 5) { $0 >= 1 }
            try #require(streamsBefore >= 1, "west counted east's discover stream\n\(mesh.logs)")
            let discoverLine = "link west: discover stream "
            let linesBefore = mesh.east.logLines(containing: discoverLine).count

            let ss = try ChildProcess.run(
                [ChildProcess.which("ss"), "-K", "-t", "dst", "127.0.0.1", "dport", "=", "\(westInbound)"], timeout: 10)
            let killed = ss.stdout.split(separator: "\n").dropFirst().filter { $0.contains("127.0.0.1:\(westInbound)") }
            try #require(
                ss.status == 0 && !killed.isEmpty,
                "`ss -K dst 127.0.0.1 dport = \(westInbound)` must close east's connections to west (is ss -K / CONFIG_INET_DIAG_DESTROY supported here?): exit \(ss.status)\nstdout: \(ss.stdout)\nstderr: \(ss.stderr)"
            )
            let cut = waitUntil(timeout: 5) { mesh.east.logLines(containing: discoverLine).count > linesBefore }
            #expect(cut, "east logs that west's discover stream broke (\(killed.count) socket(s) closed)\n\(mesh.logs)")
            let cutLine = mesh.east.logLines(containing: discoverLine).last.map(String.init) ?? ""
            #expect(cutLine.contains("routes stay as last known; reconnecting in"), "\(cutLine)")

            // Routes stay and carry new connections, hash-checked, while the stream reconnects.
            var reports: [IntegrityReport] = []
            for _ in 0..<3 {
                reports.append(MirrorTraffic.check(westPort, sizes: [128 << 10, 1000], concurrency: 2))
            }
            let allIntact = reports.allSatisfy { $0.allOK }
            #expect(allIntact, "new connections through echo-west after the cut: \(reports) \(reports.flatMap(\.failureSamples).prefix(3))\n\(mesh.logs)")
            let back = mesh.west.process.waitCounter("gateway_discover_streams", timeout: 10) { $0 > streamsBefore }
            #expect(back > streamsBefore, "the discover stream came back (gateway_discover_streams \(streamsBefore) → \(back))\n\(mesh.logs)")
            #expect(mesh.east.logLines(containing: "route \(MirrorFixture.westKey) removed").isEmpty, "\(mesh.logs)")
            #expect(mesh.routeLines(MirrorFixture.westKey, cluster: "west").count == 1, "echo-west was not re-added")

            // The new stream is live: a service exported now reaches east.
            let echo = mesh.westEcho.port
            try writeAtomically(
                GatewayYAML.registry(MirrorMesh.westServices(mesh.westEcho) + [ServiceSpec(name: "late", ports: [(7300, echo)], endpoints: ["127.0.0.1:\(echo)"])]),
                to: mesh.registryPath("west"))
            let latePort = mesh.waitRoute("default/late-west:7300", cluster: "west", timeout: 5)
            #expect(latePort != nil, "a change after the reconnect reaches east\n\(mesh.logs)")
            if let latePort {
                let r = MirrorTraffic.check(latePort, sizes: [100_000], concurrency: 1)
                #expect(r.allOK, "\(r) \(r.failureSamples)")
            }
        }

        // MARK: - 4. Bundles removed, broken, re-added

        @Test("link remove withdraws north's routes within 2 s; a broken bundle changes nothing; re-adding brings them back")
        func bundleRemovedBrokenReadded() throws {
            let (mesh, westPort, northPort) = try MirrorFixture.linkedMesh("mirror-bundles")
            defer { mesh.shutdown() }

            let removedAt = Date()
            try mesh.removeLink("north")
            let gone = waitUntil(timeout: 2) {
                !mesh.east.logLines(containing: "link north: route \(MirrorFixture.northKey) removed").isEmpty
                    && LoopbackPorts.connectErrno(northPort) == ECONNREFUSED
            }
            let goneMs = millisSince(removedAt)
            #expect(gone, "north's route removed and its listener closed within 2 s (\(MirrorFixture.ms(goneMs)) ms)\n\(mesh.logs)")
            #expect(mesh.east.waitLog("link north: bundle removed; mirror stopped, its routes withdrawn", timeout: 2), "\(mesh.east.logTail)")
            let westStill = MirrorTraffic.check(westPort)
            #expect(westStill.allOK, "west's route stays: \(westStill) \(westStill.failureSamples)\n\(mesh.logs)")

            // Broken bundles: west's replaced by one with `kind: Lnk` (west stays linked as it was),
            // and the same for north, which is not linked now (north stays unlinked).
            for cluster in ["west", "north"] {
                let good = try String(contentsOfFile: mesh.bundlePath(cluster), encoding: .utf8)
                #expect(good.contains("\nkind: Link\n"))
                try writeAtomically(good.replacingOccurrences(of: "\nkind: Link\n", with: "\nkind: Lnk\n"), to: mesh.linksDir + "/\(cluster).link.yaml")
            }
            for cluster in ["west", "north"] {
                let reported = mesh.east.waitLog("\(cluster).link.yaml:", timeout: 3)
                let lines = mesh.east.logLines(containing: "\(cluster).link.yaml:")
                #expect(
                    reported && lines.contains { $0.range(of: #"\#(cluster)\.link\.yaml:2: kind: .*Lnk.*\(link not changed\)"#, options: .regularExpression) != nil },
                    "east reports the broken \(cluster) bundle with file:line: \(lines)\n\(mesh.east.logTail)")
            }
            // A later scan of the folder: west's broken file written again (same text, a new
            // file) is reported again; every scan before it saw the broken bundles too.
            let westReports = mesh.east.logLines(containing: "west.link.yaml:").count
            let broken = try String(contentsOfFile: mesh.linksDir + "/west.link.yaml", encoding: .utf8)
            try writeAtomically(broken, to: mesh.linksDir + "/west.link.yaml")
            #expect(mesh.east.waitLog("west.link.yaml:", count: westReports + 1, timeout: 5), "\(mesh.east.logTail)")
            #expect(mesh.east.logLines(containing: "link west: bundle removed").isEmpty, "\(mesh.east.logTail)")
            #expect(mesh.east.logLines(containing: "route \(MirrorFixture.westKey) removed").isEmpty, "\(mesh.east.logTail)")
            #expect(mesh.east.logLines(containing: "link north: mirror started").count == 1, "the broken north bundle started nothing")
            #expect(LoopbackPorts.connectErrno(northPort) == ECONNREFUSED)
            let westBroken = MirrorTraffic.check(westPort)
            #expect(westBroken.allOK, "west's route with its bundle broken: \(westBroken) \(westBroken.failureSamples)\n\(mesh.logs)")

            // Fixed: west's bundle put back, north's added again.
            try mesh.addLink("west")
            try mesh.addLink("north")
            let newNorth = mesh.waitRoute(MirrorFixture.northKey, cluster: "north", count: 2, timeout: 5)
            #expect(newNorth != nil, "north's route is back after `link add`\n\(mesh.logs)")
            if let newNorth {
                let acceptedBefore = mesh.northEcho.stats.accepted
                let r = MirrorTraffic.waitIntact(newNorth, timeout: 5)
                #expect(r.ok, "east→north after re-adding: \(r.last) \(r.last.failureSamples)\n\(mesh.logs)")
                #expect(mesh.northEcho.stats.accepted > acceptedBefore)
            }
            // (The port east logged last: the same one unless west's route was wrongly withdrawn above.)
            let westNow = mesh.routePort(MirrorFixture.westKey, cluster: "west") ?? westPort
            let westAfter = MirrorTraffic.check(westNow)
            #expect(westAfter.allOK, "\(westAfter) \(westAfter.failureSamples)")
        }

        // MARK: - 5. Name collision

        @Test("name collision: west's echo would be default/echo-west, a local service of east: not mirrored, logged, the local one still served")
        func nameCollisionNotMirrored() throws {
            let pki = try GatewayPKI.shared()
            let mesh = try MirrorMesh(label: "mirror-collision") { local in
                [
                    ServiceSpec(
                        name: "echo-west", ports: [(7000, local.port)], endpoints: ["127.0.0.1:\(local.port)"],
                        allow: [GatewayPKI.gatewayIdentity("west")])
                ]
            }
            defer { mesh.shutdown() }
            try mesh.link()
            let northPort = mesh.waitRoute(MirrorFixture.northKey, cluster: "north")
            #expect(northPort != nil, "north's echo is mirrored\n\(mesh.logs)")
            let collision = "link west: service default/echo would be mirrored as default/echo-west, which is already taken here ("
            #expect(mesh.east.waitLog(collision, timeout: 10), "east logs the collision\n\(mesh.logs)")
            #expect(mesh.east.logLines(containing: "route \(MirrorFixture.westKey) on").isEmpty, "\(mesh.east.logTail)")

            // The local default/echo-west is still east's own: a gateway client (west's identity)
            // asking east's inbound port for it reaches east's backend, not west's.
            let client = try GatewayTLSClient.start(port: mesh.ports.eastInbound, identity: pki.gateway("west"), trust: pki.gateway("west").trust)
            defer { client.kill() }
            let header = try TransportHeader.connect(ConnectTarget(namespace: "default", name: "echo-west", port: 7000), clientIdentity: nil).encoded()
            let hello = "hello, local echo-west \(UUID().uuidString)\n"
            try client.writeStdin(header + Array(hello.utf8))
            #expect(client.waitStdout(count: hello.utf8.count, timeout: 10), "east's local service answers: \(client.stderrText)\n\(mesh.logs)")
            #expect(String(decoding: client.stdoutData, as: UTF8.self) == hello)
            #expect(mesh.eastEcho.stats.accepted == 1, "east's own backend served it (\(mesh.eastEcho.stats.accepted))")
            #expect(mesh.westEcho.stats.accepted == 0, "west's backend was not reached (\(mesh.westEcho.stats.accepted))")
            if let northPort {
                let r = MirrorTraffic.check(northPort, sizes: [100_000], concurrency: 1)
                #expect(r.allOK, "\(r) \(r.failureSamples)")
            }
            // Probe rounds keep republishing; the collision is logged once while it lasts. West
            // answering two more probes means east has handled at least one more round.
            let answered = try mesh.west.counter("gateway_probes_answered")
            #expect(mesh.west.process.waitCounter("gateway_probes_answered") { $0 >= answered + 2 } >= answered + 2)
            #expect(mesh.east.logLines(containing: collision).count == 1, "\(mesh.east.logLines(containing: collision))")
            #expect(mesh.east.logLines(containing: "echo-west:7000 on").isEmpty)
        }
    }
}
