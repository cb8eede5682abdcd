#if canImport(Glibc)
import Glibc
#endif
import Logging
import MeshgateLoop
import MeshgateNames
import MeshgateProxy

/// One benchmark run: start the gateway, publish the table, measure the changes, verify, stop.
struct RouteBenchRun {
    struct Settings {
        var routes: Int
        var changes: Int
        var warmup: Int
        var loops: Int
        var backend: IOBackendChoice
        var portRange: ClosedRange<UInt16>
        var timeoutNanoseconds: Int64
        var yieldWhileWaiting: Bool
        var quiet: Bool
    }

    let settings: Settings

    init(_ settings: Settings) { self.settings = settings }

    private func progress(_ line: String) {
        if !settings.quiet { StandardError.line("meshgate-route-bench: " + line) }
    }

    /// Runs everything; failures end up in the result's `errors` (never thrown).
    func run() -> RouteBenchResult {
        var result = RouteBenchResult(settings: settings)
        // 1. Descriptors: one per route listener, plus the server's and ours.
        let limit = DescriptorLimit.raiseToHard()
        let needed = settings.routes + DescriptorLimit.openNow() + 64 + 8 * settings.loops
        result.descriptorLimit = limit.soft
        guard limit.soft >= needed else {
            result.errors.append(
                "RLIMIT_NOFILE: \(settings.routes) route listeners need about \(needed) descriptors, but the limit is "
                    + "\(limit.soft) (hard limit \(limit.hard)); lower --routes or raise the hard limit (ulimit -Hn, LimitNOFILE)")
            return result
        }

        // 2. Credentials from PEM files written by the openssl CLI.
        progress("generating a test PKI with openssl")
        let pki: BenchPKI
        let credentials: GatewayCredentials
        do {
            pki = try BenchPKI.generate()
            credentials = try pki.credentials()
        } catch {
            result.errors.append("\(error)")
            return result
        }
        defer { pki.remove() }

        // 3. The gateway: inbound listener on 127.0.0.1:0, routes from the publisher.
        let server: ProxyServer
        let publisher: RouteTablePublisher
        do {
            let loopback = try SocketAddress.resolve(host: "127.0.0.1", port: 0)
            publisher = RouteTablePublisher(
                bindAddress: loopback, portRange: settings.portRange, credentials: credentials, loops: settings.loops,
                holdOff: .zero)  // churn: a removed route's port may go to the next route at once
            let config = ProxyConfiguration(
                listen: loopback, upstreams: [], threads: settings.loops, backend: settings.backend, maxConnections: 1024,
                gateway: GatewaySettings(publisher: publisher))
            var logger = Logger(label: "meshgate-route-bench")
            logger.logLevel = settings.quiet ? .error : .warning
            server = try ProxyServer(configuration: config, logger: logger)
            try server.start()
        } catch {
            result.errors.append("starting the gateway: \(error)")
            return result
        }
        result.backend = server.backend.kind.rawValue
        progress("gateway up: inbound \(server.boundAddress), \(settings.loops) loop(s), backend \(server.backend.kind) (\(server.backend.reason))")
        defer { stop(server) }

        // Routes go to this gateway's own inbound listener (reachable, and it proves the
        // identity the routes expect); the alternate gateway set adds a second address.
        let inbound = server.boundAddress
        let alternate = (try? SocketAddress.resolve(host: "127.0.0.2", port: inbound.port)).map { [inbound, $0] } ?? [inbound, inbound]
        var table = BenchRouteTable(count: settings.routes, identity: pki.identity, gateways: [inbound], alternate: alternate)
        // The one exported service every route's target names, with a local endpoint.
        let endpoint: BenchEndpoint
        do { endpoint = try BenchEndpoint() } catch {
            result.errors.append("opening the service endpoint: \(error)")
            return result
        }
        let target = BenchRouteTable.target
        let services = [
            ExportedService(namespace: target.namespace, name: target.name, exported: true, allowed: nil,
                            endpoints: [target.port: [endpoint.address]])
        ]

        // 4. The initial table.
        progress("publishing \(settings.routes) routes (ports \(settings.portRange.lowerBound)-\(settings.portRange.upperBound))")
        let t0 = MonotonicClock.nanoseconds()
        let initial = publisher.publish(routes: table.routes, services: services)
        let t1 = MonotonicClock.nanoseconds()
        let initialProblems = table.recordInitial(initial)
        if !initialProblems.isEmpty {
            result.errors.append("initial table: \(initialProblems.count) route(s) without a listener, e.g. \(initialProblems[0])")
            return result
        }
        guard let t2 = awaitApplied(publisher, initial.generation, timeout: max(settings.timeoutNanoseconds, 60_000_000_000)) else {
            result.errors.append("initial table: the loops did not all apply generation \(initial.generation) in time "
                + "(applied by all: \(publisher.appliedByAllLoops))")
            return result
        }
        result.initialPublishNanoseconds = t1 - t0
        result.initialPropagationNanoseconds = t2 - t1
        progress("initial table: publish \(ms(t1 - t0)) ms, then every loop applied it \(ms(t2 - t1)) ms later")

        // 5. The changes.
        var total: [Int64] = []
        var publishOnly: [Int64] = []
        var propagation: [Int64] = []
        var publishCPU: [Int64] = []
        var loopCPU: [Int64] = []
        total.reserveCapacity(settings.changes)
        publishOnly.reserveCapacity(settings.changes)
        propagation.reserveCapacity(settings.changes)
        var last: BenchRouteTable.Change? = nil
        var lastProgress = MonotonicClock.nanoseconds()
        progress("\(settings.warmup) warm-up changes, then \(settings.changes) measured")
        for number in 0..<(settings.warmup + settings.changes) {
            let change = table.makeChange(number)
            let loopCPUBefore = CPUTime.otherThreads()
            let cpuBefore = CPUTime.thisThread()
            let start = MonotonicClock.nanoseconds()
            // The change itself, as the mirror will publish it: one route added, one removed, one
            // changed in place (its gateways), on top of the whole table.
            let report = publisher.update(
                upserting: [table.routes[change.replacedSlot], table.routes[change.modifiedSlot]], removing: [change.removedKey])
            let published = MonotonicClock.nanoseconds()
            let cpuAfter = CPUTime.thisThread()
            guard let applied = awaitApplied(publisher, report.generation, timeout: settings.timeoutNanoseconds) else {
                result.errors.append("change \(number): the loops did not all apply generation \(report.generation) within "
                    + "\(ms(settings.timeoutNanoseconds)) ms (applied by all: \(publisher.appliedByAllLoops))")
                break
            }
            let problems = table.record(change, report, tableSize: publisher.snapshot.routes.count)
            if !problems.isEmpty {
                result.errors.append(contentsOf: problems.prefix(3))
                break
            }
            if number >= settings.warmup {
                total.append(applied - start)
                publishOnly.append(published - start)
                propagation.append(applied - published)
                publishCPU.append(cpuAfter - cpuBefore)
                loopCPU.append(CPUTime.otherThreads() - loopCPUBefore)
            }
            last = change
            if !settings.quiet && applied - lastProgress > 5_000_000_000 {
                lastProgress = applied
                progress("change \(number + 1)/\(settings.warmup + settings.changes)")
            }
        }
        result.measuredChanges = total.count
        if !total.isEmpty {
            result.total = LatencySummary(nanoseconds: total)
            result.publish = LatencySummary(nanoseconds: publishOnly)
            result.propagation = LatencySummary(nanoseconds: propagation)
            result.publishCPU = LatencySummary(nanoseconds: publishCPU)
            result.loopCPU = LatencySummary(nanoseconds: loopCPU)
        }
        guard result.errors.isEmpty, let last else { return result }

        // 6. Correctness: the route added last is served by a loop, the one removed last is closed.
        result.verification = verify(server: server, endpoint: endpoint, added: (last.addedKey, table.ports[last.replacedSlot]),
                                     removed: (last.removedKey, last.removedPort))
        if let v = result.verification { result.errors.append(contentsOf: v.problems) }
        return result
    }

    /// Spins until every loop runs `generation` (yielding the CPU each turn unless told to busy
    /// wait); the monotonic time it saw that, or nil after `timeout` nanoseconds.
    private func awaitApplied(_ publisher: RouteTablePublisher, _ generation: UInt64, timeout: Int64) -> Int64? {
        let deadline = MonotonicClock.nanoseconds() &+ timeout
        while true {
            let done = publisher.appliedByAllLoops >= generation
            let now = MonotonicClock.nanoseconds()
            if done { return now }
            if now > deadline { return nil }
            if settings.yieldWhileWaiting { sched_yield() }
        }
    }

    private func verify(server: ProxyServer, endpoint: BenchEndpoint, added: (key: String, port: UInt16),
                        removed: (key: String, port: UInt16)) -> Verification {
        var v = Verification(addedKey: added.key, addedPort: added.port, removedKey: removed.key, removedPort: removed.port)
        guard let host = try? SocketAddress.resolve(host: "127.0.0.1", port: 0) else {
            v.problems.append("cannot resolve 127.0.0.1")
            return v
        }
        // Added: the TCP connect succeeds, a loop accepts it on that route (the gateway counts an
        // outbound connection), and bytes sent into it arrive at the service endpoint: through the
        // route's mTLS hop to this gateway's inbound side and on to the endpoint.
        let before = server.stats
        switch TCPProbe.connect(host.withPort(added.port)) {
        case .connected(let fd):
            v.addedConnected = true
            let message = Array("meshgate-route-bench \(added.key)\n".utf8)
            let sent = message.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            let arrival: (ok: Bool, detail: String) = sent == message.count
                ? endpoint.receive(message, timeoutMilliseconds: 5000)
                : (false, "sending into the route failed: \(String(cString: strerror(errno)))")
            v.addedDelivered = arrival.ok
            v.addedOutcome = arrival.detail
            v.addedAcceptedByLoop = server.stats[.gatewayOutbound] > before[.gatewayOutbound]
            Glibc.close(fd)
            if !v.addedAcceptedByLoop {
                v.problems.append("route \(added.key) (port \(added.port)): connected, but no loop accepted it")
            } else if !v.addedDelivered {
                v.problems.append("route \(added.key) (port \(added.port)): accepted, but \(arrival.detail)")
            }
        case .refused:
            v.problems.append("route \(added.key) (port \(added.port)), added last: connection refused")
        case .failed(let why):
            v.problems.append("route \(added.key) (port \(added.port)), added last: connect failed: \(why)")
        }
        // Removed: refused. Retries briefly in case the last holder of the listener has not let go.
        let start = MonotonicClock.nanoseconds()
        var outcome = "not tried"
        while true {
            let probe = TCPProbe.connect(host.withPort(removed.port))
            if case .refused = probe {
                v.removedRefused = true
                v.removedRefusedAfterNanoseconds = MonotonicClock.nanoseconds() - start
                break
            }
            switch probe {
            case .connected(let fd):
                Glibc.close(fd)
                outcome = "connection accepted"
            case .failed(let why):
                outcome = why
            case .refused:
                break
            }
            if MonotonicClock.nanoseconds() - start > 1_000_000_000 { break }
            sleepMilliseconds(5)
        }
        if !v.removedRefused {
            v.problems.append("route \(removed.key) (port \(removed.port)), removed last: still not refused after 1 s (\(outcome))")
        }
        return v
    }

    private func stop(_ server: ProxyServer) {
        server.drain()
        if !server.wait(timeout: .seconds(10)) {
            server.stop()
            _ = server.wait(timeout: .seconds(5))
        }
    }
}

func ms(_ nanoseconds: Int64) -> String { JSON.number(Double(nanoseconds) / 1e6) }

/// What the final check found.
struct Verification {
    let addedKey: String
    let addedPort: UInt16
    let removedKey: String
    let removedPort: UInt16
    var addedConnected = false
    var addedAcceptedByLoop = false
    var addedDelivered = false
    var addedOutcome = ""
    var removedRefused = false
    var removedRefusedAfterNanoseconds: Int64 = 0
    var problems: [String] = []

    var json: String {
        "{\"added_route\":\(JSONString.quoted(addedKey)),\"added_port\":\(addedPort),\"added_connected\":\(addedConnected),"
            + "\"added_accepted_by_loop\":\(addedAcceptedByLoop),\"added_delivered\":\(addedDelivered),"
            + "\"removed_route\":\(JSONString.quoted(removedKey)),\"removed_port\":\(removedPort),\"removed_refused\":\(removedRefused),"
            + "\"removed_refused_after_ms\":\(removedRefused ? ms(removedRefusedAfterNanoseconds) : "null")}"
    }

    var text: String {
        let a = addedAcceptedByLoop
            ? "accepting (a loop took the connection; \(addedOutcome) through both mTLS hops)"
            : addedConnected ? "connects but no loop accepted it" : "NOT accepting"
        let r = removedRefused ? "refused" : "NOT refused"
        return "verify: added \(addedKey) on :\(addedPort) \(a); removed \(removedKey) on :\(removedPort) \(r)"
    }
}

/// Everything a run measured and found.
struct RouteBenchResult {
    let settings: RouteBenchRun.Settings
    var backend = "-"
    var descriptorLimit = 0
    var initialPublishNanoseconds: Int64? = nil
    var initialPropagationNanoseconds: Int64? = nil
    var measuredChanges = 0
    var total: LatencySummary? = nil
    var publish: LatencySummary? = nil
    var propagation: LatencySummary? = nil
    /// CPU time of the publish call (the publishing thread's), and of all loops together per change.
    var publishCPU: LatencySummary? = nil
    var loopCPU: LatencySummary? = nil
    var verification: Verification? = nil
    var errors: [String] = []

    init(settings: RouteBenchRun.Settings) { self.settings = settings }

    var ok: Bool { errors.isEmpty && total != nil && verification != nil }

    var json: String {
        func summary(_ s: LatencySummary?) -> String { s?.json ?? "null" }
        func millis(_ n: Int64?) -> String { n.map { JSON.number(Double($0) / 1e6) } ?? "null" }
        var fields: [String] = [
            "\"bench\":\"route-propagation\"",
            "\"routes\":\(settings.routes)",
            "\"loops\":\(settings.loops)",
            "\"changes\":\(measuredChanges)",
            "\"warmup\":\(settings.warmup)",
            "\"backend\":\(JSONString.quoted(backend))",
            "\"wait\":\(JSONString.quoted(settings.yieldWhileWaiting ? "yield" : "spin"))",
            "\"initial_publish_ms\":\(millis(initialPublishNanoseconds))",
            "\"initial_propagation_ms\":\(millis(initialPropagationNanoseconds))",
            "\"total_us\":\(summary(total))",
            "\"publish_us\":\(summary(publish))",
            "\"propagation_us\":\(summary(propagation))",
            "\"publish_cpu_us\":\(summary(publishCPU))",
            "\"loops_cpu_us\":\(summary(loopCPU))",
            "\"verify\":\(verification?.json ?? "null")",
            "\"errors\":[\(errors.map(JSONString.quoted).joined(separator: ","))]",
            "\"ok\":\(ok)",
        ]
        if let t = total { fields.insert("\"target_p50_under_1ms\":\(t.p50 < 1000)", at: fields.count - 2) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    var humanLines: [String] {
        var lines: [String] = []
        lines.append("route-propagation routes=\(settings.routes) loops=\(settings.loops) backend=\(backend) changes=\(measuredChanges) (+\(settings.warmup) warm-up)")
        if let p = initialPublishNanoseconds, let a = initialPropagationNanoseconds {
            lines.append("  initial table   publish \(ms(p)) ms, all loops applied \(ms(a)) ms later")
        }
        if let t = total, let p = publish, let g = propagation {
            lines.append("  total       µs  \(t.text)   (publish start → all loops applied)")
            lines.append("  publish     µs  \(p.text)   (the publish call)")
            lines.append("  propagation µs  \(g.text)   (publish returned → all loops applied)")
            if let pc = publishCPU, let lc = loopCPU {
                lines.append("  CPU time    µs  publish p50=\(JSON.number(pc.p50)) p99=\(JSON.number(pc.p99)), all loops per change p50=\(JSON.number(lc.p50)) p99=\(JSON.number(lc.p99))   (work, not waiting)")
            }
            lines.append("  target: change reaches all loops in < 1 ms median: \(t.p50 < 1000 ? "met" : "NOT met") (p50 \(JSON.number(t.p50)) µs)")
        }
        if let v = verification { lines.append("  " + v.text) }
        lines.append(ok ? "  ok" : "  FAILED: " + errors.prefix(5).joined(separator: "; "))
        return lines
    }
}
