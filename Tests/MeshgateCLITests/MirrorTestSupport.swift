import Foundation
import MeshgateLoad
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

// Helpers of the service-mirror integration tests (MirrorIntegrationTests.swift): three gateway
// processes on loopback (east links to west and north with bundles made by `meshgate link`),
// the echo backends behind west's and north's exports, steady background traffic, and checks
// of how fast a connection is refused.

// MARK: - The mesh

/// east, west and north under one anchor. west and north export echo backends; east's
/// gateway.yaml has `links:` (a folder plus fast probe settings) and, once `link()` ran, a
/// bundle of each of them in that folder, added with `meshgate link add`. Every process it
/// starts is killed by `shutdown()` (and by the processes' own deinit on any other path).
final class MirrorMesh {
    /// All ports of one mesh, from one block found free below the ephemeral range.
    struct Ports {
        static let count = 23
        let base: UInt16
        var eastInbound: UInt16 { base }
        var westInbound: UInt16 { base + 1 }
        var northInbound: UInt16 { base + 2 }
        /// east's `outbound.ports`: every mirrored route listens on one of these.
        var eastRange: ClosedRange<UInt16> { (base + 3)...(base + 18) }
        var westRange: ClosedRange<UInt16> { (base + 19)...(base + 20) }
        var northRange: ClosedRange<UInt16> { (base + 21)...(base + 22) }

        init() throws { base = try LoopbackPorts.freeBlock(count: Self.count) }

        func inbound(_ cluster: String) -> UInt16 {
            switch cluster {
            case "east": eastInbound
            case "west": westInbound
            default: northInbound
            }
        }

        func range(_ cluster: String) -> ClosedRange<UInt16> {
            switch cluster {
            case "east": eastRange
            case "west": westRange
            default: northRange
            }
        }
    }

    /// east's `links:` value. The probe settings are much tighter than the defaults (3 s / 1 s)
    /// so that a dead or hung north is detected in about 3–5 s and the tests stay fast.
    static let eastLinks = "{dir: links, probe: {interval: 1s, timeout: 500ms, failureThreshold: 3}}"

    let dir: String
    let ports: Ports
    /// The backend of west's `default/echo` (and of the services the propagation test adds).
    let westEcho: BackendServer
    /// The backend of north's `default/echo`.
    let northEcho: BackendServer
    /// A backend for east's own registry services (the name-collision test).
    let eastEcho: BackendServer
    private(set) var east: GatewayProcess!
    private(set) var west: GatewayProcess!
    private(set) var north: GatewayProcess!
    /// Processes replaced by `restart` (kept until `shutdown` so their logs stay readable).
    private var retired: [GatewayProcess] = []
    private var isShutDown = false

    /// The links folder of east.
    var linksDir: String { dir + "/east/links" }
    /// Where `meshgate link` wrote a cluster's bundle (outside the links folder).
    func bundlePath(_ cluster: String) -> String { dir + "/bundles/\(cluster).link.yaml" }
    func folder(_ cluster: String) -> String { dir + "/" + cluster }
    func registryPath(_ cluster: String) -> String { folder(cluster) + "/registry.yaml" }
    var eastConfigPath: String { folder("east") + "/gateway.yaml" }

    /// west exports `default/echo` to anyone, `default/secret` only to north's gateway (so not
    /// to east) and keeps `default/internal` unexported.
    static func westServices(_ echo: BackendServer) -> [ServiceSpec] {
        [
            ServiceSpec(name: "echo", ports: [(7000, echo.port)], endpoints: ["127.0.0.1:\(echo.port)"]),
            ServiceSpec(
                name: "secret", ports: [(7000, echo.port)], endpoints: ["127.0.0.1:\(echo.port)"],
                allow: [GatewayPKI.gatewayIdentity("north")]),
            ServiceSpec(name: "internal", ports: [(7000, echo.port)], endpoints: ["127.0.0.1:\(echo.port)"], exported: false),
        ]
    }

    /// north exports `default/echo` to east's gateway.
    static func northServices(_ echo: BackendServer) -> [ServiceSpec] {
        [
            ServiceSpec(
                name: "echo", ports: [(7000, echo.port)], endpoints: ["127.0.0.1:\(echo.port)"],
                allow: [GatewayPKI.gatewayIdentity("east")])
        ]
    }

    /// Starts west, north and east (east with `eastServices(eastEcho)` in its registry); no
    /// bundle is in east's links folder yet (`link()` adds them).
    init(label: String, eastServices: (BackendServer) -> [ServiceSpec] = { _ in [] }) throws {
        ProcessResources.ignoreSIGPIPE()
        dir = try makeTestDirectory(label)
        ports = try Ports()
        westEcho = try BackendServer(behavior: .echo, threads: 2)
        northEcho = try BackendServer(behavior: .echo)
        eastEcho = try BackendServer(behavior: .echo)
        do {
            for sub in ["west", "north", "east", "east/links", "bundles"] {
                try FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true)
            }
            try writeAtomically(GatewayYAML.registry(Self.westServices(westEcho)), to: registryPath("west"))
            try writeAtomically(GatewayYAML.registry(Self.northServices(northEcho)), to: registryPath("north"))
            try writeAtomically(GatewayYAML.registry(eastServices(eastEcho)), to: registryPath("east"))
            west = try start("west")
            north = try start("north")
            east = try start("east")
        } catch {
            shutdown()
            throw error
        }
    }

    deinit { shutdown() }

    /// Lines appended to east's gateway.yaml from the next (re)start on (e.g. `stateDir: state`).
    var eastExtra = ""

    /// gateway.yaml of `cluster`: west on the epoll backend, the others on the default one.
    func config(_ cluster: String) throws -> String {
        GatewayYAML.gateway(
            cluster: cluster, identity: try GatewayPKI.shared().gateway(cluster), inbound: ports.inbound(cluster),
            outbound: ports.range(cluster), registry: "registry.yaml", ioBackend: cluster == "west" ? "epoll" : "auto",
            links: cluster == "east" ? Self.eastLinks : nil) + (cluster == "east" ? eastExtra : "")
    }

    private func start(_ cluster: String) throws -> GatewayProcess {
        try GatewayProcess(cluster: cluster, directory: folder(cluster), config: try config(cluster), inboundPort: ports.inbound(cluster))
    }

    /// Starts `cluster` again with the same config and ports (its old process must have exited).
    func restart(_ cluster: String) throws {
        let new = try start(cluster)
        switch cluster {
        case "north":
            retired.append(north)
            north = new
        case "west":
            retired.append(west)
            west = new
        default:
            retired.append(east)
            east = new
        }
    }

    // MARK: Links

    /// Runs `meshgate ARGS` to completion.
    static func meshgate(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.run([MeshgateProcess.binary] + arguments, timeout: 30)
    }

    /// `meshgate link --config <cluster>/gateway.yaml > bundles/<cluster>.link.yaml`.
    @discardableResult
    func makeBundle(_ cluster: String) throws -> String {
        let run = try Self.meshgate(["link", "--config", folder(cluster) + "/gateway.yaml"])
        guard run.status == 0, run.stdout.contains("cluster: \(cluster)") else {
            throw TestFailure("meshgate link --config \(cluster)/gateway.yaml exited \(run.status):\n\(run.stdout)\n\(run.stderr)")
        }
        try writeAtomically(run.stdout, to: bundlePath(cluster))
        return run.stdout
    }

    /// `meshgate link add bundles/<cluster>.link.yaml --config east/gateway.yaml` (the bundle is
    /// made first when missing).
    func addLink(_ cluster: String) throws {
        if !FileManager.default.fileExists(atPath: bundlePath(cluster)) { try makeBundle(cluster) }
        let run = try Self.meshgate(["link", "add", bundlePath(cluster), "--config", eastConfigPath])
        guard run.status == 0, run.stdout.contains("link to cluster \(cluster)") else {
            throw TestFailure("meshgate link add \(cluster) exited \(run.status):\n\(run.stdout)\n\(run.stderr)")
        }
    }

    /// `meshgate link remove <cluster> --config east/gateway.yaml`.
    func removeLink(_ cluster: String) throws {
        let run = try Self.meshgate(["link", "remove", cluster, "--config", eastConfigPath])
        guard run.status == 0, run.stdout.contains("removed link to cluster \(cluster)") else {
            throw TestFailure("meshgate link remove \(cluster) exited \(run.status):\n\(run.stdout)\n\(run.stderr)")
        }
    }

    /// Links east to west and north.
    func link() throws {
        try addLink("west")
        try addLink("north")
    }

    // MARK: Routes as east logs them

    /// `link <cluster>: route <key> on 127.0.0.1:<port>` lines of east, oldest first.
    func routeLines(_ key: String, cluster: String) -> [Substring] {
        east.logLines(containing: "link \(cluster): route \(key) on ")
    }

    /// The listener port of the last `route <key> on …` line east logged for `cluster`.
    func routePort(_ key: String, cluster: String) -> UInt16? {
        guard let line = routeLines(key, cluster: cluster).last, let r = line.range(of: " on 127.0.0.1:") else { return nil }
        return UInt16(line[r.upperBound...].prefix { $0.isNumber })
    }

    /// Waits (≤ `timeout`) until east has logged at least `count` `route <key> on …` lines for
    /// `cluster`; the listener port of the last one, or nil.
    func waitRoute(_ key: String, cluster: String, count: Int = 1, timeout: Double = 10) -> UInt16? {
        guard waitUntil(timeout: timeout, { self.routeLines(key, cluster: cluster).count >= count }) else { return nil }
        return routePort(key, cluster: cluster)
    }

    /// The log tails of the three gateways (and of replaced processes), for failure messages.
    var logs: String {
        var parts: [String] = []
        for p in [east, west, north] + retired.map(Optional.some) {
            if let p { parts.append(p.logTail) }
        }
        return parts.joined(separator: "\n---\n")
    }

    /// New connections to `port` (a route of a link that east has just logged down) until east
    /// counts one more `gateway_refused_link_down` than `before` (≤ 5 s; the loops may take the
    /// new route table a moment after the log line). The last attempt and the counter.
    func refusedAsLinkDown(port: UInt16, before: Int) throws -> (MirrorTraffic.Refusal, counter: Int, attempts: Int) {
        var attempts = 0
        var last: (MirrorTraffic.Refusal, counter: Int)?
        var failure: Error?
        waitUntil(timeout: 5, every: 0.1) {
            let r = MirrorTraffic.refusal(port)
            attempts += 1
            do { last = (r, try east.counter("gateway_refused_link_down")) } catch {
                failure = error
                return true
            }
            return last!.counter > before
        }
        if let failure { throw failure }
        return (last!.0, last!.counter, attempts)
    }

    // MARK: Clean-up

    /// Kills every gateway it started (SIGCONT first, for a stopped one), stops the backends
    /// and removes the folder. Safe to call twice.
    func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        for p in [east, west, north] + retired.map(Optional.some) {
            guard let p, p.process.process.isRunning else { continue }
            p.process.signal(SIGCONT)
            p.process.signal(SIGKILL)
            _ = p.process.waitExit(timeout: 10)
        }
        westEcho.stop()
        northEcho.stop()
        eastEcho.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

// MARK: - Traffic

enum MirrorTraffic {
    static func endpoint(_ port: UInt16) -> Endpoint { Endpoint(host: "127.0.0.1", port: port) }

    /// Integrity-checked new connections (sizes each way, SHA-256 compared).
    static func check(_ port: UInt16, sizes: [Int] = [256 << 10, 64 << 10, 1000, 1], concurrency: Int = 2) -> IntegrityReport {
        IntegrityRun.run(target: endpoint(port), sizes: sizes, concurrency: concurrency, deadline: .seconds(20))
    }

    /// Repeats `check` (≤ `timeout`) until one run is entirely intact; the last report.
    static func waitIntact(_ port: UInt16, timeout: Double = 10, sizes: [Int] = [64 << 10, 1000]) -> (ok: Bool, last: IntegrityReport) {
        var last = IntegrityReport()
        let ok = waitUntil(timeout: timeout, every: 0.1) {
            last = IntegrityRun.run(target: endpoint(port), sizes: sizes, concurrency: 1, deadline: .seconds(5))
            return last.allOK
        }
        return (ok, last)
    }

    /// How a new connection to a refused route ended: connected, sent a few bytes, read until
    /// the end. `fast` when it ended with no byte back (EOF or reset), or the connect itself
    /// failed, in under `limit` seconds.
    struct Refusal: CustomStringConvertible {
        var outcome: String
        var seconds: Double
        /// The TCP connection was accepted (the route's listener is there).
        var connected: Bool
        /// It ended with no byte back.
        var ended: Bool
        func fast(limit: Double = 1.0) -> Bool { ended && seconds < limit }
        var description: String { "\(outcome) after \(String(format: "%.3f", seconds)) s" }
    }

    static func refusal(_ port: UInt16) -> Refusal {
        let start = Date()
        let fd: Int32
        do { fd = try TestClient.connect(endpoint(port), timeout: .seconds(3)) } catch {
            // A reset that lands before the client sees its connect complete still means the
            // listener accepted the connection and the gateway reset it (a busy machine does this).
            var accepted = false
            if case LoadError.system(_, let e) = error, e == ECONNRESET { accepted = true }
            return Refusal(outcome: "connect failed: \(error)", seconds: Date().timeIntervalSince(start), connected: accepted, ended: true)
        }
        defer { close(fd) }
        var writeNote = ""
        do { try TestClient.writeAll(fd: fd, bytes: Array("hello, is anyone there?\n".utf8), timeout: .seconds(2)) } catch {
            writeNote = " (write: \(error))"
        }
        let (outcome, _) = TestClient.readAll(fd: fd, timeout: .seconds(4))
        let seconds = Date().timeIntervalSince(start)
        let ended: Bool
        switch outcome {
        case .eof(bytes: 0), .reset(bytes: 0): ended = true
        default: ended = false
        }
        return Refusal(outcome: "\(outcome)\(writeNote)", seconds: seconds, connected: true, ended: ended)
    }
}

/// Steady traffic on one route while something else happens: `streams` paced echo streams
/// (opened now, kept exchanging) plus a thread that keeps making new integrity-checked
/// connections. `finish()` stops both and says what, if anything, went wrong.
final class SteadyTraffic {
    let port: UInt16
    private var streams: [PacedStream] = []
    private let stopRequested = LockedBox(false)
    private let reports = LockedBox<[IntegrityReport]>([])
    private let done = DispatchSemaphore(value: 0)
    private var running = false

    init(port: UInt16, streams count: Int, seed: UInt64) throws {
        self.port = port
        for i in 0..<count {
            streams.append(try PacedStream(MirrorTraffic.endpoint(port), seed: seed + UInt64(i), chunk: 4096, intervalMicros: 20_000))
        }
        for s in streams { s.start() }
        // The thread holds the boxes, not `self`, so that deinit can stop it.
        let stop = stopRequested
        let reports = self.reports
        let done = self.done
        running = true
        Thread {
            while !stop.value {
                let r = IntegrityRun.run(
                    target: MirrorTraffic.endpoint(port), sizes: [64 << 10, 1000, 1], concurrency: 2, deadline: .seconds(20))
                reports.value = reports.value + [r]
                usleep(100_000)
            }
            done.signal()
        }.start()
    }

    /// New-connection rounds so far.
    var rounds: Int { reports.value.count }

    struct Outcome {
        /// Broken streams and broken new connections, described.
        var problems: [String]
        /// Exchanges each stream completed.
        var exchanges: [Int]
        /// New connections made, and how many were intact.
        var connections: Int
        var intact: Int
    }

    func finish() -> Outcome {
        stopRequested.value = true
        var problems: [String] = []
        if running {
            running = false
            if done.wait(timeout: .now() + 60) == .timedOut { problems.append("the new-connection thread did not stop") }
        }
        for (i, s) in streams.enumerated() {
            if let f = s.finish() { problems.append("stream \(i): \(f)") }
        }
        let all = reports.value
        for r in all where !r.allOK { problems.append("new connections: \(r) \(r.failureSamples.prefix(3))") }
        return Outcome(
            problems: problems, exchanges: streams.map(\.exchangeCount), connections: all.reduce(0) { $0 + $1.connections },
            intact: all.reduce(0) { $0 + $1.ok })
    }

    deinit {
        stopRequested.value = true
        if running { _ = done.wait(timeout: .now() + 60) }
    }
}

/// Milliseconds since `start`.
func millisSince(_ start: Date) -> Double { Date().timeIntervalSince(start) * 1000 }
