#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MeshgateControl
import MeshgateTestKit

/// The steps of `meshgate demo` (docs/demo.md). Each one prints what happened as it goes and
/// throws `DemoFailure` (with the log to show) when something does not happen in time.
extension DemoRun {
    typealias Out = DemoOutput

    static let webWest = "default/web-west:80"
    static let webNorth = "default/web-north:80"
    static let redisWest = "default/redis-west:6379"

    func steps(_ mesh: DemoMesh) throws {
        try identitiesStep(mesh)
        try gatewaysStep(mesh)
        try servicesStep(mesh)
        try linksStep(mesh)
        try trafficStep(mesh)
        try failureDomainStep(mesh)
    }

    // MARK: 1. Identities

    func identitiesStep(_ mesh: DemoMesh) throws {
        Out.section("1. Identities: one trust anchor; an issuer and a gateway identity per cluster")
        let t = Date()
        identities = try mesh.makeIdentities()
        Out.line("trust anchor for \(DemoMesh.trustDomain): anchor/anchor.crt")
        var rows = [["CLUSTER", "ISSUER", "GATEWAY IDENTITY (certificate in <cluster>/identity/)"]]
        for c in DemoMesh.clusters { rows.append([c, "\(c)/issuer/", identities[c] ?? "?"]) }
        table(rows)
        Out.line("made by this binary's `meshgate identity init | issuer | issue --gateway` in \(Out.since(t))")
    }

    // MARK: 2. Gateways

    func gatewaysStep(_ mesh: DemoMesh) throws {
        Out.section("2. Gateways: one `meshgate gateway` process per cluster")
        for c in DemoMesh.clusters {
            try mesh.writeAtomically(mesh.gatewayYAML(c), to: mesh.configPath(c))
            // Empty at first: the services are exported in step 3, while the gateways run.
            try mesh.writeAtomically(mesh.registryYAML(c, []), to: mesh.registryPath(c))
        }
        var children: [String: LoggedProcess] = [:]
        for c in DemoMesh.clusters { children[c] = try mesh.spawnGateway(c) }
        var rows = [["CLUSTER", "PID", "INBOUND (mTLS)", "ADMIN", "READY AFTER"]]
        for c in DemoMesh.clusters {
            try mesh.waitReady(c)
            let child = children[c]!
            rows.append([
                c, String(child.pid), "127.0.0.1:\(mesh.ports.inbound(c))", "http://\(mesh.adminAddress(c))",
                Out.since(child.started),
            ])
        }
        table(rows)
        Out.line("east's links: probes every \(DemoMesh.probeInterval), timeout \(DemoMesh.probeTimeout) (fast, for the demo; the defaults are 3s and 1s)")
        Out.line("each gateway: 1 event loop, config <cluster>/gateway.yaml, log <cluster>/gateway.log")
    }

    // MARK: 3. Services

    func servicesStep(_ mesh: DemoMesh) throws {
        Out.section("3. Services: a real backend in west and in north, exported in their registry.yaml")
        let westWeb = try mesh.startWebBackend("west")
        let northWeb = try mesh.startWebBackend("north")
        var redisNote = "redis-server is not on PATH: skipped (west exports web only)"
        if let exe = ExecutablePath.onPath("redis-server") {
            try mesh.startRedis(exe)
            hasRedis = true
            redisNote = ""
        }
        let east = DemoMesh.gatewayIdentity("east")
        var west: [DemoMesh.Service] = [
            .init(name: "web", port: 80, backend: westWeb.port, exported: true, comment: "exported to every linked cluster")
        ]
        if hasRedis {
            west.append(
                .init(name: "redis", port: 6379, backend: mesh.ports.redis, exported: true, allow: [east], comment: "exported to east's gateway only"))
        }
        west.append(.init(name: "internal", port: 80, backend: westWeb.port, exported: false, comment: "not exported: stays inside west"))
        let north: [DemoMesh.Service] = [
            .init(name: "web", port: 80, backend: northWeb.port, exported: true, allow: [east], comment: "exported to east's gateway only")
        ]
        let t = Date()
        try mesh.writeAtomically(mesh.registryYAML("west", west), to: mesh.registryPath("west"))
        try mesh.writeAtomically(mesh.registryYAML("north", north), to: mesh.registryPath("north"))
        for (c, services) in [("west", west), ("north", north)] {
            let exported = services.filter(\.exported).count
            _ = try mesh.waitStatus(c, timeout: 10, "\(c)'s gateway reloading its registry (\(services.count) services)") {
                $0.services.count == services.count && $0.services.exported == exported
            }
        }
        var rows = [["CLUSTER", "SERVICE", "BACKEND", "EXPORTED"]]
        rows.append(["west", "default/web:80", "HTTP server 127.0.0.1:\(westWeb.port) (a thread of this demo)", "yes, to every linked cluster"])
        if hasRedis { rows.append(["west", "default/redis:6379", "redis-server 127.0.0.1:\(mesh.ports.redis)", "yes, to east only (allow:)"]) }
        rows.append(["west", "default/internal:80", "the same HTTP server", "no"])
        rows.append(["north", "default/web:80", "HTTP server 127.0.0.1:\(northWeb.port) (a thread of this demo)", "yes, to east only (allow:)"])
        table(rows)
        if !redisNote.isEmpty { Out.line(redisNote) }
        Out.line("west's and north's gateways reloaded their registry.yaml by themselves (the file is watched) within \(Out.since(t))")
    }

    // MARK: 4. Links

    func linksStep(_ mesh: DemoMesh) throws {
        Out.section("4. Links: east links to west and north; east's service mirror imports what they export")
        let t = Date()
        for c in ["west", "north"] {
            let text = try mesh.meshgate(["link", "--config", mesh.configPath(c)])
            try mesh.writeAtomically(text, to: mesh.bundlePath(c))
            let bundle: LinkBundle
            do {
                bundle = try LinkBundle.parse(yaml: text, fileName: mesh.bundlePath(c))
            } catch {
                throw DemoFailure("`meshgate link --config \(c)/gateway.yaml` printed a bundle that does not parse: \(error)")
            }
            Out.line("meshgate link --config \(c)/gateway.yaml > bundles/\(c).link.yaml")
            Out.line(
                "  cluster \(bundle.cluster), gateway \(bundle.gateways.map(\.description).joined(separator: ", ")), identity \(bundle.identity.spiffeURI), \(bundle.anchors.count) trust anchor (no keys, nothing secret)"
            )
            let added = try mesh.meshgate(["link", "add", mesh.bundlePath(c), "--config", mesh.configPath("east")])
            Out.line("meshgate link add bundles/\(c).link.yaml --config east/gateway.yaml")
            Out.line("  " + added.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: mesh.folder + "/", with: ""))
        }
        var expected = [Self.webWest, Self.webNorth]
        if hasRedis { expected.insert(Self.redisWest, at: 1) }
        let status = try mesh.waitStatus("east", timeout: 20, "east mirroring \(expected.joined(separator: ", "))") { s in
            let keys = Dictionary(s.routes.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
            return expected.allSatisfy { keys[$0]?.state == .up } && s.routeTable.appliedByAllLoops >= s.routeTable.generation
                && ["west", "north"].allSatisfy { c in s.links.contains { $0.cluster == c && $0.synced && $0.alive } }
        }
        Out.line("east's mirror turned them into local routes \(Out.since(t)) after the first `meshgate link`:")
        var rows = [["ROUTE ON EAST", "LISTENS ON", "CLUSTER", "REMOTE SERVICE"]]
        for key in expected {
            guard let r = status.routes.first(where: { $0.key == key }) else { continue }
            guard let port = UInt16(r.listen.split(separator: ":").last ?? "") else {
                throw DemoFailure("east's /status lists \(key) listening on '\(r.listen)', not host:port")
            }
            routePorts[key] = port
            rows.append([key, r.listen, r.cluster, r.target])
        }
        table(rows)
        if let leaked = status.routes.first(where: { $0.name.hasPrefix("internal-") }) {
            throw DemoFailure("east mirrored \(leaked.key), which west does not export", log: mesh.log("east"))
        }
        Out.line("not mirrored: west's default/internal (not exported)")
        if let logged = LoggedProcess.tail(mesh.logPath("east"), lines: 400).first(where: { $0.contains("link west: route \(Self.webWest) on ") }),
            let r = logged.range(of: "link west: route")
        {
            Out.line("east's log says the same: \(logged[r.lowerBound...])")
        }
    }

    // MARK: 5. Traffic

    func trafficStep(_ mesh: DemoMesh) throws {
        Out.section("5. Traffic from east, through the mirrored routes")
        Out.line("the first request goes out \(Out.since(started)) after the demo started")
        for (key, name) in [(Self.webWest, "web-west"), (Self.webNorth, "web-north")] {
            let port = routePorts[key]!
            let outcome = DemoHTTP.get(port, host: name)
            guard case .answered(let status, let body, let sent, let received, let seconds) = outcome, status == 200 else {
                throw DemoFailure("GET http://127.0.0.1:\(port)/ (\(name)) did not get 200: \(describe(outcome))", log: mesh.log("east"))
            }
            Out.line("GET http://127.0.0.1:\(port)/ (\(name)) → 200 \(Out.quote(body))")
            Out.line("  \(sent) bytes sent, \(received) received, \(Out.ms(seconds)) from connect to close")
        }
        let n = 50
        for (key, name) in [(Self.webWest, "web-west"), (Self.webNorth, "web-north")] {
            let port = routePorts[key]!
            var latencies: [Double] = []
            var bytes = 0
            for _ in 0..<n {
                let outcome = DemoHTTP.get(port, host: name)
                guard case .answered(200, _, _, let received, let seconds) = outcome else {
                    throw DemoFailure("GET \(name) (request \(latencies.count + 1) of \(n)): \(describe(outcome))", log: mesh.log("east"))
                }
                latencies.append(seconds)
                bytes += received
            }
            Out.line(
                "\(n) more GETs to \(name): \(n)/\(n) answered, \(Out.bytes(bytes)) back, latency p50 \(Out.ms(Out.quantile(latencies, 0.5)!)), p99 \(Out.ms(Out.quantile(latencies, 0.99)!))"
            )
        }
        if hasRedis, let port = routePorts[Self.redisWest] {
            let t = Date()
            let client = try DemoRedisClient(port: port)
            let pong = try client.command(["PING"])
            let value = String((0..<1024).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
            let set = try client.command(["SET", "demo:key", value])
            let got = try client.command(["GET", "demo:key"])
            let seconds = Date().timeIntervalSince(t)
            guard pong == "PONG", set == "OK", got == value else {
                throw DemoFailure(
                    "redis-west through 127.0.0.1:\(port): PING → \(pong ?? "nil"), SET → \(set ?? "nil"), GET → \(got?.count ?? 0) bytes",
                    log: mesh.log("east"))
            }
            Out.line("redis-west (127.0.0.1:\(port)): PING → PONG, SET demo:key <1024 bytes> → OK, GET demo:key → the same 1024 bytes")
            Out.line("  one connection, \(client.sent) bytes sent, \(client.received) received, \(Out.ms(seconds)) for the three commands")
        }

        // East's probes run every second: wait (≤ 5 s) for one answered probe per link, so the
        // health below has a latency to show.
        let east = try mesh.waitStatus("east", timeout: 5, "east's first answered probe of west and north") { s in
            ["west", "north"].allSatisfy { c in s.links.contains { $0.cluster == c && $0.probes.answered > 0 } }
        }
        let west = try mesh.status("west")
        let north = try mesh.status("north")
        for (c, s) in [("west", west), ("north", north)] where s.identity.name != identities[c] {
            throw DemoFailure("\(c)'s gateway presents \(s.identity.name), not \(identities[c] ?? "?") from its bundle", log: mesh.log(c))
        }
        Out.line("every request took three hops; only the middle one leaves a cluster, and it is mutual TLS:")
        let westPort = routePorts[Self.webWest]!
        let northPort = routePorts[Self.webNorth]!
        var rows = [["HOP", "WHAT IS CHECKED"]]
        rows.append(["app → east 127.0.0.1:\(westPort)", "nothing: plain TCP inside east (to the app, web-west is a local service)"])
        rows.append(["east → west 127.0.0.1:\(mesh.ports.inbound("west"))", "TLS 1.3 both ways: west proved \(west.identity.name) (west's bundle); east proved \(east.identity.name)"])
        rows.append(["west → 127.0.0.1:\(mesh.webBackends["west"]!.port)", "west let east in: default/web is exported; plain TCP inside west"])
        rows.append(["app → east 127.0.0.1:\(northPort)", "nothing: plain TCP inside east"])
        rows.append(["east → north 127.0.0.1:\(mesh.ports.inbound("north"))", "TLS 1.3 both ways: north proved \(north.identity.name) (north's bundle)"])
        rows.append(["north → 127.0.0.1:\(mesh.webBackends["north"]!.port)", "north let east in: \(east.identity.name) is on default/web's allow list"])
        table(rows)
        func c(_ s: GatewayStatus, _ name: String) -> UInt64 { s.counters[name] ?? 0 }
        Out.line("gateway counters (/status):")
        Out.line(
            "  east   \(c(east, "gateway_outbound_connections")) outbound connections, \(c(east, "tls_handshakes_upstream")) mTLS handshakes, \(Out.bytes(Int(c(east, "bytes_downstream_to_upstream")))) out, \(Out.bytes(Int(c(east, "bytes_upstream_to_downstream")))) back, \(c(east, "gateway_refused")) refused"
        )
        for (name, s) in [("west", west), ("north", north)] {
            Out.line(
                "  \(name.padding(toLength: 6, withPad: " ", startingAt: 0)) \(c(s, "gateway_inbound_connections")) inbound mTLS connections, \(Out.count(Int(c(s, "gateway_probes_answered")), "probe")) answered, \(Out.count(Int(c(s, "gateway_discover_streams")), "discover stream")), \(c(s, "gateway_refused")) refused"
            )
        }
        Out.line("gateway health as east sees it (/status; `meshgate gateways` shows the same):")
        for link in east.links {
            Out.line("  \(linkSummary(link))")
        }
    }

    func linkSummary(_ link: LinkStatus) -> String {
        var s = "\(link.cluster.padding(toLength: 6, withPad: " ", startingAt: 0)) \(link.alive ? "alive" : "DOWN"), \(Out.count(link.services, "service")) mirrored"
        if let p50 = link.latency.p50Ms {
            s += ", probe round trip p50 \(String(format: "%.2f", p50)) ms"
            if let last = link.latency.lastMs { s += " (last \(String(format: "%.2f", last)) ms)" }
        }
        s += ", \(Out.count(link.probes.answered, "probe")) answered, \(link.probes.failed) failed"
        return s
    }

    func describe(_ outcome: DemoOutcome) -> String {
        switch outcome {
        case .answered(let status, let body, _, _, let seconds): "HTTP \(status) \(Out.quote(body)) after \(Out.ms(seconds))"
        case .failed(let reason, let seconds): "\(reason) after \(Out.ms(seconds))"
        }
    }

    // MARK: 6. A failure domain

    func failureDomainStep(_ mesh: DemoMesh) throws {
        Out.section("6. A failure domain: north's gateway stops; east → west does not notice")
        let westPort = routePorts[Self.webWest]!
        let northPort = routePorts[Self.webNorth]!
        let steady = DemoSteadyTraffic(port: westPort, host: "web-west", interval: 0.05)
        defer { _ = steady.stop() }
        Out.line("in the background from now on: a GET to web-west (127.0.0.1:\(westPort)) every 50 ms")
        try DemoSignals.shared.sleep(0.3)
        let before = try mesh.status("east").counters["gateway_refused_link_down"] ?? 0

        let stoppedAt = Date()
        let north = mesh.gateways["north"]!
        north.signal(SIGTERM)
        let exitStatus = north.waitExit(timeout: 10) ?? north.stop(grace: 0)
        Out.line("north's gateway (pid \(north.pid)): SIGTERM → exited with status \(exitStatus) after \(Out.ms(Date().timeIntervalSince(stoppedAt)))")
        let down = try mesh.waitStatus("east", timeout: 15, "east taking the link to north down") { s in
            s.links.contains { $0.cluster == "north" && !$0.alive } && s.routes.contains { $0.key == Self.webNorth && $0.state == .down }
        }
        let reason = down.links.first { $0.cluster == "north" }?.lastError ?? "?"
        Out.line("east: link north down \(Out.since(stoppedAt)) after the stop (its probes failed: \(reason))")
        Out.line("east's routes now: " + down.routes.map { "\($0.name):\($0.port) \($0.state.rawValue)" }.joined(separator: ", "))

        // New connections to north's route are reset at once, without trying north.
        var attempts: [DemoOutcome] = []
        var after = before
        let counted = try waitUntil(timeout: 5, every: 0.1, pause: DemoSignals.shared.sleep) {
            let outcome = DemoHTTP.get(northPort, host: "web-north", timeout: 3)
            if outcome.ok {
                throw DemoFailure("GET web-north was answered while north's gateway was stopped", log: mesh.log("east"))
            }
            if outcome.seconds >= 1 {
                throw DemoFailure("GET web-north took \(Out.ms(outcome.seconds)) to fail: \(describe(outcome)); expected a fast reset", log: mesh.log("east"))
            }
            attempts.append(outcome)
            after = try mesh.status("east").counters["gateway_refused_link_down"] ?? 0
            return attempts.count >= 3 && after > before
        }
        guard counted else {
            throw DemoFailure(
                "east's gateway_refused_link_down stayed at \(after) after \(attempts.count) connections to web-north", log: mesh.log("east"))
        }
        for (i, outcome) in attempts.prefix(3).enumerated() {
            Out.line("GET http://127.0.0.1:\(northPort)/ (web-north) #\(i + 1): \(describe(outcome))")
        }
        Out.line("east's gateway_refused_link_down: \(before) → \(after): refused at once, without waiting on north")
        let midway = steady.counts
        Out.line("meanwhile east → west: \(midway.ok) GETs answered, \(midway.failed) failed")

        let restartedAt = Date()
        let again = try mesh.spawnGateway("north")
        try mesh.waitReady("north")
        Out.line("north's gateway started again (pid \(again.pid)), ready after \(Out.since(restartedAt))")
        _ = try mesh.waitStatus("east", timeout: 15, "east bringing the link to north back up") { s in
            s.links.contains { $0.cluster == "north" && $0.alive } && s.routes.contains { $0.key == Self.webNorth && $0.state == .up }
        }
        var answer: DemoOutcome = .failed(reason: "not tried", seconds: 0)
        let answered = try waitUntil(timeout: 10, every: 0.1, pause: DemoSignals.shared.sleep) {
            answer = DemoHTTP.get(northPort, host: "web-north", timeout: 3)
            return answer.ok
        }
        guard answered else {
            throw DemoFailure("GET web-north after north's restart: \(describe(answer))", log: mesh.log("east"))
        }
        Out.line("east: link north up again \(Out.since(restartedAt)) after the restart; the same route works:")
        Out.line("GET http://127.0.0.1:\(northPort)/ (web-north) → \(describe(answer))")

        let result = steady.stop()
        if !result.failures.isEmpty {
            throw DemoFailure(
                "east → west: \(result.failures.count) of \(result.failures.count + result.latencies.count) GETs failed during north's outage (first: \(result.failures[0]))",
                log: mesh.log("east"))
        }
        guard !result.latencies.isEmpty else { throw DemoFailure("east → west: no GET completed during north's outage", log: mesh.log("east")) }
        Out.line(
            "east → west throughout: \(result.latencies.count) GETs, all answered, 0 failed (p50 \(Out.ms(Out.quantile(result.latencies, 0.5)!)), max \(Out.ms(result.latencies.max()!))): north's outage touched north's routes only"
        )
    }

    // MARK: 7. Explore

    /// Prints how to look around, then waits for Ctrl-C or SIGTERM, reporting a gateway that
    /// exits meanwhile.
    func explore(_ mesh: DemoMesh) throws {
        let admin = mesh.adminAddress("east")
        let me = CommandLine.arguments[0].contains("/") ? CommandLine.arguments[0] : "meshgate"
        Out.section("7. Explore: the three clusters keep running; Ctrl-C stops them all and deletes the folder")
        var rows: [[String]] = [["COMMAND", "SHOWS"]]
        rows.append(["\(me) gateways --admin \(admin)", "the clusters east is linked to: alive, services, probe latency, warm pool"])
        rows.append(["\(me) routes --admin \(admin)", "east's routes: name, listen address, cluster, state"])
        rows.append(["curl http://\(admin)/metrics", "east's Prometheus metrics (also /status, /ready, /live)"])
        rows.append(["curl http://127.0.0.1:\(routePorts[Self.webWest]!)/", "web-west, through east → west"])
        rows.append(["curl http://127.0.0.1:\(routePorts[Self.webNorth]!)/", "web-north, through east → north"])
        if hasRedis, let p = routePorts[Self.redisWest] {
            rows.append(["redis-cli -p \(p) get demo:key", "redis-west, through east → west"])
        }
        if let north = mesh.gateways["north"] {
            rows.append(["kill -STOP \(north.pid)", "freeze north's gateway (-CONT resumes it); watch `gateways`"])
        }
        rows.append(["tail -f \(mesh.logPath("east"))", "east's log"])
        table(rows)
        var reported: Set<String> = []
        while !DemoSignals.shared.wait(upTo: 0.5) {
            for (c, g) in mesh.gateways where !reported.contains(c) {
                if let s = g.exitStatus {
                    reported.insert(c)
                    Out.line("\(c)'s gateway exited with status \(s) (log: \(mesh.logPath(c)))")
                }
            }
        }
    }
}
