import Foundation
import MeshgateLoad
import MeshgateWire
import Testing
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

/// `meshgate gateway` end to end: two real gateway processes (east with static routes, west with
/// a registry exporting an in-process echo backend), identities made by `meshgate identity`,
/// files rewritten while traffic runs. Under the serialized `TLSEndToEnd` umbrella so it never
/// competes with the other process-based suites for the two cores.
extension TLSEndToEnd {
    @Suite struct GatewayIntegrationTests {
        // MARK: - Set-up

        /// Ports of one test, all from one block found free below the ephemeral range.
        struct Ports {
            let base: UInt16
            /// east's `outbound.ports`.
            var eastRange: ClosedRange<UInt16> { base...(base + 11) }
            /// Fixed route listen ports (outside east's range).
            var fixed: [UInt16] { [base + 12, base + 13, base + 14, base + 15] }
            var eastInbound: UInt16 { base + 16 }
            var westInbound: UInt16 { base + 17 }
            var westRange: ClosedRange<UInt16> { (base + 18)...(base + 19) }

            init() throws { base = try LoopbackPorts.freeBlock(count: 20) }
        }

        /// west: inbound on `ports.westInbound`, registry `services` (folder `dir/west`), epoll
        /// backend (east runs the default, so both backends carry gateway traffic).
        static func startWest(dir: String, ports: Ports, services: [ServiceSpec]) throws -> GatewayProcess {
            let folder = dir + "/west"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try writeAtomically(GatewayYAML.registry(services), to: folder + "/registry.yaml")
            let config = GatewayYAML.gateway(
                cluster: "west", identity: try GatewayPKI.shared().gateway("west"), inbound: ports.westInbound, outbound: ports.westRange,
                registry: "registry.yaml", ioBackend: "epoll")
            return try GatewayProcess(cluster: "west", directory: folder, config: config, inboundPort: ports.westInbound)
        }

        static func eastConfig(ports: Ports, routes: [RouteSpec]) throws -> String {
            GatewayYAML.gateway(
                cluster: "east", identity: try GatewayPKI.shared().gateway("east"), inbound: ports.eastInbound, outbound: ports.eastRange,
                routes: routes)
        }

        static func startEast(dir: String, ports: Ports, routes: [RouteSpec]) throws -> GatewayProcess {
            let folder = dir + "/east"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            return try GatewayProcess(
                cluster: "east", directory: folder, config: try eastConfig(ports: ports, routes: routes), inboundPort: ports.eastInbound)
        }

        /// default/echo, port 7000 → the echo backend, exported to `allow`.
        static func echoService(_ echo: BackendServer, name: String = "echo", allow: [String]? = [GatewayPKI.gatewayIdentity("east")]) -> ServiceSpec {
            ServiceSpec(name: name, ports: [(7000, echo.port)], endpoints: ["127.0.0.1:\(echo.port)"], exported: true, allow: allow)
        }

        /// A route of east to west's `default/<target>:7000`.
        static func route(_ name: String, port: UInt16 = 7000, ports: Ports, target: String = "echo", listen: UInt16? = nil) -> RouteSpec {
            RouteSpec(
                name: name, port: port, gateways: ["127.0.0.1:\(ports.westInbound)"], target: ("default", target, 7000),
                listen: listen.map { "127.0.0.1:\($0)" })
        }

        static func endpoint(_ port: UInt16) -> Endpoint { Endpoint(host: "127.0.0.1", port: port) }

        /// The set-up most tests start from: an echo backend, a test folder, a port block and
        /// west exporting the echo as `default/echo`. `tearDown()` when done (west is killed when
        /// released).
        struct WestWithEcho {
            let echo: BackendServer
            let dir: String
            let ports: Ports
            let west: GatewayProcess

            init(label: String, echoThreads: Int = 1) throws {
                echo = try BackendServer(behavior: .echo, threads: echoThreads)
                do {
                    dir = try makeTestDirectory(label)
                    ports = try Ports()
                    west = try GatewayIntegrationTests.startWest(dir: dir, ports: ports, services: [GatewayIntegrationTests.echoService(echo)])
                } catch {
                    echo.stop()
                    throw error
                }
            }

            func tearDown() {
                try? FileManager.default.removeItem(atPath: dir)
                echo.stop()
            }
        }

        // MARK: - a. Reload under load

        @Test("reload under load: 50 streams on stable routes survive gateway.yaml rewritten + SIGHUP every 100 ms for 10 s")
        func reloadUnderLoad() throws {
            let setUp = try WestWithEcho(label: "gw-reload", echoThreads: 2)
            defer { setUp.tearDown() }
            let (dir, ports, west) = (setUp.dir, setUp.ports, setUp.west)

            // Two stable routes: one on a fixed address, one from the range. Six churn routes
            // (three fixed, three from the range) come and go.
            let stableA = Self.route("stable-a", port: 7000, ports: ports, listen: ports.fixed[0])
            let stableB = Self.route("stable-b", port: 7001, ports: ports)
            let churn = (0..<6).map { j in
                Self.route("churn-\(j)", port: 7100 + UInt16(j), ports: ports, listen: j < 3 ? ports.fixed[j + 1] : nil)
            }
            let churnFixedPorts = Array(ports.fixed[1...3])
            let east = try Self.startEast(dir: dir, ports: ports, routes: [stableA, stableB])
            let logs = { "\(east.logTail)\n\(west.logTail)" }
            #expect(east.initialRoutes[stableA.key] == ports.fixed[0], "\(east.initialRoutes)")
            let stableBPort = try #require(east.initialRoutes[stableB.key], "stable-b listens from the start: \(east.initialRoutes)")
            #expect(ports.eastRange.contains(stableBPort))

            // 50 concurrent streams, 25 per stable route, each exchanging 4 KiB every 20 ms.
            var streams: [PacedStream] = []
            for i in 0..<50 {
                let target = Self.endpoint(i % 2 == 0 ? ports.fixed[0] : stableBPort)
                streams.append(try PacedStream(target, seed: 0xC0DE_0000 + UInt64(i)))
            }
            for s in streams { s.start() }

            // Meanwhile, new connections keep arriving on the stable routes (integrity-checked).
            let stopRepeating = LockedBox(false)
            let repeated = LockedBox<[IntegrityReport]>([])
            let repeatingDone = DispatchSemaphore(value: 0)
            Thread {
                var round = 0
                while !stopRepeating.value {
                    let target = Self.endpoint(round % 2 == 0 ? ports.fixed[0] : stableBPort)
                    let r = IntegrityRun.run(target: target, sizes: [256 << 10, 64 << 10, 1000, 1], concurrency: 4, deadline: .seconds(20))
                    repeated.value = repeated.value + [r]
                    round += 1
                    usleep(50_000)
                }
                repeatingDone.signal()
            }.start()

            // Rewrite gateway.yaml every 100 ms for 10 s, each followed by SIGHUP.
            let started = Date()
            var writes = 0
            var stableMissing: [String] = []
            var churnSeenListening = Set<UInt16>()
            while Date().timeIntervalSince(started) < 10 {
                writes += 1
                let present = churn.enumerated().filter { (writes + $0.offset) % 4 < 2 }.map(\.element)
                // The stable routes come first or last: their place in the file does not matter.
                let routes = writes % 2 == 0 ? [stableA, stableB] + present : present + [stableB, stableA]
                try east.writeConfig(try Self.eastConfig(ports: ports, routes: routes))
                east.reload()
                let tick = started.addingTimeInterval(Double(writes) * 0.1)
                let wait = tick.timeIntervalSinceNow
                if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
                // /proc/net/tcp is read in pieces and can miss a socket while the table changes:
                // a stable port it does not show is confirmed with a real connect.
                let listening = LoopbackListeners.ports()
                for p in [ports.fixed[0], stableBPort] where !listening.contains(p) {
                    let e = LoopbackPorts.connectErrno(p)
                    if e != 0 { stableMissing.append("write \(writes): stable port \(p): connect: \(String(cString: strerror(e)))") }
                }
                for p in churnFixedPorts + Array(ports.eastRange) where p != stableBPort && listening.contains(p) {
                    churnSeenListening.insert(p)
                }
            }
            // Last version: the stable routes only.
            try east.writeConfig(try Self.eastConfig(ports: ports, routes: [stableA, stableB]))
            east.reload()
            let removedPorts = churnFixedPorts + ports.eastRange.filter { $0 != stableBPort }
            let closed = waitUntil(timeout: 10) {
                let listening = LoopbackListeners.ports()
                return removedPorts.allSatisfy { !listening.contains($0) && LoopbackPorts.connectErrno($0) == ECONNREFUSED }
            }

            stopRepeating.value = true
            let repeatingStopped = repeatingDone.wait(timeout: .now() + 60) == .success
            let failures = streams.enumerated().compactMap { i, s in s.finish().map { "stream \(i): \($0)" } }
            let exchanges = streams.map(\.exchangeCount)

            #expect(writes >= 80, "gateway.yaml was rewritten every 100 ms (\(writes) writes)")
            #expect(failures.isEmpty, "\(failures.count) of 50 streams failed or were truncated: \(failures.prefix(5))\n\(logs())")
            #expect(exchanges.allSatisfy { $0 >= 50 }, "every stream kept exchanging through the reloads: \(exchanges)")
            #expect(stableMissing.isEmpty, "\(stableMissing.prefix(5))")
            #expect(repeatingStopped)
            let reports = repeated.value
            #expect(reports.count >= 5, "new connections were made during the reloads (\(reports.count) rounds)")
            let connections = reports.reduce(0) { $0 + $1.connections }
            let ok = reports.reduce(0) { $0 + $1.ok }
            #expect(ok == connections, "new connections on stable routes: \(ok) of \(connections) intact: \(reports.flatMap(\.failureSamples).prefix(5))")
            #expect(reports.allSatisfy { $0.mismatches == 0 && $0.failures == 0 })

            // The churn routes really were opened (each fixed one, and range ones besides stable-b's port)...
            #expect(Set(churnFixedPorts).isSubset(of: churnSeenListening), "fixed churn ports seen listening: \(churnSeenListening.sorted())")
            #expect(!churnSeenListening.intersection(ports.eastRange).isEmpty, "range churn routes got ports: \(churnSeenListening.sorted())")
            // ...and once removed, their listeners are closed.
            #expect(closed, "removed routes' listeners closed")
            for p in removedPorts {
                #expect(LoopbackPorts.connectErrno(p) == ECONNREFUSED, "removed route port \(p) refuses connections")
            }
            // The stable routes' ports never changed: stable-b is still the one range port listening.
            #expect(ports.eastRange.filter { LoopbackPorts.connectErrno($0) == 0 } == [stableBPort])
            #expect(LoopbackPorts.connectErrno(ports.fixed[0]) == 0)
            let after = IntegrityRun.run(target: Self.endpoint(stableBPort), sizes: [1 << 20, 1000], concurrency: 2, deadline: .seconds(20))
            #expect(after.allOK, "stable-b after the reloads: \(after.failureSamples)")
            let afterA = IntegrityRun.run(target: Self.endpoint(ports.fixed[0]), sizes: [1 << 20, 1000], concurrency: 2, deadline: .seconds(20))
            #expect(afterA.allOK, "stable-a after the reloads: \(afterA.failureSamples)")

            // Every write was published (SIGHUP; the 500 ms poll may add more), and the route count varied.
            let tableLines = east.logLines(containing: "route table generation ")
            #expect(tableLines.count >= writes / 2, "\(tableLines.count) publishes for \(writes) writes")
            let counts = Set(tableLines.compactMap { line -> Int? in
                guard let r = line.range(of: #": \d+ route\(s\)"#, options: .regularExpression) else { return nil }
                return Int(line[r].dropFirst(2).prefix { $0.isNumber })
            })
            #expect(counts.isSuperset(of: [2, 4, 5, 6]), "route counts published: \(counts.sorted())")
            #expect(east.logLines(containing: "has no listener").isEmpty, "\(east.logLines(containing: "has no listener").prefix(5))")

            let e = try east.counters(["gateway_refused", "tls_truncated", "resets_from_upstream", "tls_refused_upstream"])
            let w = try west.counters(["gateway_refused", "tls_truncated", "resets_from_downstream", "tls_refused_downstream"])
            #expect(e == ["gateway_refused": 0, "tls_truncated": 0, "resets_from_upstream": 0, "tls_refused_upstream": 0])
            #expect(w == ["gateway_refused": 0, "tls_truncated": 0, "resets_from_downstream": 0, "tls_refused_downstream": 0])
            #expect(east.stop() == 0, "east drains and exits 0\n\(east.logTail)")
            #expect(west.stop() == 0, "west drains and exits 0\n\(west.logTail)")
        }

        // MARK: - b. requireClientTLS carries the client's identity

        @Test("outbound requireClientTLS: the local client's mTLS identity travels to west and is checked against allow")
        func outboundClientIdentity() throws {
            let pki = try GatewayPKI.shared()
            let echo = try BackendServer(behavior: .echo)
            defer { echo.stop() }
            let dir = try makeTestDirectory("gw-client-tls")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let ports = try Ports()
            let web = GatewayPKI.identity(namespace: "shop", name: "web")
            let west = try Self.startWest(
                dir: dir, ports: ports, services: [Self.echoService(echo, allow: [GatewayPKI.gatewayIdentity("east"), web])])
            var route = Self.route("echo-mtls", ports: ports)
            route.requireClientTLS = true
            let east = try Self.startEast(dir: dir, ports: ports, routes: [route])
            let port = try #require(east.initialRoutes[route.key], "\(east.initialRoutes)")
            let trust = pki.gateway("east").trust

            // shop/web is allowed: the echo comes back.
            let good = try GatewayTLSClient.start(port: port, identity: pki.workload(namespace: "shop", name: "web"), trust: trust)
            let hello = "hello from shop/web \(UUID().uuidString)\n"
            try good.writeStdin(Array(hello.utf8))
            #expect(good.waitStdout(count: hello.utf8.count, timeout: 10), "echo through east and west: \(good.stderrText)\n\(east.logTail)\n\(west.logTail)")
            #expect(String(decoding: good.stdoutData, as: UTF8.self) == hello)
            good.kill()
            #expect(try west.counter("gateway_refused_not_allowed") == 0)

            // shop/other is vouched for by the trust bundle (east accepts its TLS) but not allowed at west.
            let other = try GatewayTLSClient.start(port: port, identity: pki.workload(namespace: "shop", name: "other"), trust: trust)
            let otherHello = "hello from shop/other\n"
            try other.writeStdin(Array(otherHello.utf8))
            #expect(other.waitExit(timeout: 15) != nil, "the refused connection ends")
            #expect(!String(decoding: other.stdoutData, as: UTF8.self).contains("hello"), "nothing came back")
            #expect(west.process.waitCounter("gateway_refused_not_allowed") { $0 >= 1 } >= 1, "\(west.logTail)")
            #expect(
                !west.logLines(containing: "client spiffe://cluster.local/ns/shop/sa/other").isEmpty,
                "west names the refused client identity:\n\(west.logTail)")
            #expect(try east.counter("tls_refused_no_certificate") == 0)

            // No client certificate: refused at east's TLS handshake.
            let anonymous = try GatewayTLSClient.start(port: port, identity: nil, trust: trust)
            try anonymous.writeStdin(Array("hello from nobody\n".utf8))
            #expect(anonymous.waitExit(timeout: 15) != nil, "the refused connection ends")
            #expect(!String(decoding: anonymous.stdoutData, as: UTF8.self).contains("hello"))
            #expect(east.process.waitCounter("tls_refused_no_certificate") { $0 >= 1 } >= 1, "\(east.logTail)")
            #expect(try west.counter("gateway_refused_not_allowed") == 1, "the anonymous client never reached west")
            #expect(try west.counter("gateway_inbound_connections") == 2, "only web and other reached west")
        }

        // MARK: - c. Probe

        @Test("probe: west answers a probe header with the same header (same nonce)")
        func probeIsAnswered() throws {
            let pki = try GatewayPKI.shared()
            let setUp = try WestWithEcho(label: "gw-probe")
            defer { setUp.tearDown() }
            let west = setUp.west
            for round in 0..<2 {
                let nonce = UInt64.random(in: 1...UInt64.max)
                let header = try TransportHeader.probe(nonce: nonce).encoded()
                #expect(header.count == 19)
                let client = try GatewayTLSClient.start(port: west.inboundPort, identity: pki.gateway("east"), trust: pki.gateway("east").trust)
                try client.writeStdin(header)
                client.closeStdin()
                #expect(client.waitExit(timeout: 15) != nil, "west answers and closes: \(client.stderrText)")
                let answer = Array(client.stdoutData)
                #expect(answer == header, "round \(round): answer \(answer) for \(header)\n\(west.logTail)")
                if case .complete(let decoded, let consumed) = TransportHeader.decode(answer) {
                    #expect(decoded == .probe(nonce: nonce))
                    #expect(consumed == answer.count)
                } else {
                    Issue.record("round \(round): the answer is no whole header: \(TransportHeader.decode(answer))")
                }
                #expect(west.process.waitCounter("gateway_probes_answered") { $0 >= round + 1 } == round + 1)
            }
            #expect(try west.counter("gateway_refused") == 0)
        }

        // MARK: - d. A broken registry keeps the last good one

        @Test("a broken registry.yaml is reported with its line and the last good registry stays; the fixed one takes effect")
        func brokenRegistryKeepsLastGood() throws {
            let setUp = try WestWithEcho(label: "gw-registry", echoThreads: 2)
            defer { setUp.tearDown() }
            let (echo, dir, ports, west) = (setUp.echo, setUp.dir, setUp.ports, setUp.west)
            let registryPath = dir + "/west/registry.yaml"
            let echoRoute = Self.route("echo-west", port: 7000, ports: ports)
            let laterRoute = Self.route("later-west", port: 7001, ports: ports, target: "later")
            let east = try Self.startEast(dir: dir, ports: ports, routes: [echoRoute, laterRoute])
            let echoPort = try #require(east.initialRoutes[echoRoute.key])
            let laterPort = try #require(east.initialRoutes[laterRoute.key])
            let logs = { "\(east.logTail)\n\(west.logTail)" }

            // Before: echo works, default/later is not a service of west.
            #expect(IntegrityRun.run(target: Self.endpoint(echoPort), sizes: [100_000], concurrency: 1, deadline: .seconds(20)).allOK)
            let refusedBefore = IntegrityRun.run(target: Self.endpoint(laterPort), sizes: [1000], concurrency: 1, deadline: .seconds(20))
            #expect(refusedBefore.ok == 0)
            #expect(west.process.waitCounter("gateway_refused_unknown_service") { $0 >= 1 } >= 1)

            // 1: invalid YAML (the watcher sees it; no SIGHUP).
            try writeAtomically("services:\n  - namespace: default\n    name: [echo\n", to: registryPath)
            #expect(west.waitLog("keeping the last good registry", timeout: 10), "\(west.logTail)")
            let syntax = west.logLines(containing: "keeping the last good registry")
            #expect(syntax.contains { $0.range(of: #"registry\.yaml:\d+: "#, options: .regularExpression) != nil && $0.contains("invalid YAML") }, "\(syntax)")
            let r1 = IntegrityRun.run(target: Self.endpoint(echoPort), sizes: [200_000, 1000], concurrency: 2, deadline: .seconds(20))
            #expect(r1.allOK, "traffic still flows with the broken registry: \(r1.failureSamples)\n\(logs())")

            // 2: an unknown key, on line 7.
            let unknownKey = """
                services:
                  - namespace: default
                    name: echo
                    ports: [{port: 7000, targetPort: \(echo.port)}]
                    endpoints: ["127.0.0.1:\(echo.port)"]
                    exported: true
                    allowed: [\(GatewayPKI.gatewayIdentity("east"))]

                """
            try writeAtomically(unknownKey, to: registryPath)
            #expect(west.waitLog("registry.yaml:7: services[0].allowed: unknown key", timeout: 10), "\(west.logTail)")
            let r2 = IntegrityRun.run(target: Self.endpoint(echoPort), sizes: [200_000, 1000], concurrency: 2, deadline: .seconds(20))
            #expect(r2.allOK, "traffic still flows with the broken registry: \(r2.failureSamples)\n\(logs())")

            // 3: fixed, with a new service: it appears.
            let fixed = GatewayYAML.registry([Self.echoService(echo), Self.echoService(echo, name: "later")])
            try writeAtomically(fixed, to: registryPath)
            var last = IntegrityReport()
            let appeared = waitUntil(timeout: 10) {
                last = IntegrityRun.run(target: Self.endpoint(laterPort), sizes: [100_000], concurrency: 1, deadline: .seconds(10))
                return last.allOK
            }
            #expect(appeared, "default/later reachable after the fix: \(last.failureSamples)\n\(logs())")
            let r3 = IntegrityRun.run(target: Self.endpoint(echoPort), sizes: [200_000], concurrency: 1, deadline: .seconds(20))
            #expect(r3.allOK, "\(r3.failureSamples)")
            #expect(try west.counter("gateway_refused_not_allowed") == 0)
        }
    }
}
