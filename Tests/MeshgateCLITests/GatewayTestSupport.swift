import Foundation
import MeshgateLoad
#if canImport(Glibc)
import Glibc
#endif

// Helpers of the `meshgate gateway` integration tests (GatewayIntegrationTests.swift): identities
// made with `meshgate identity`, gateway.yaml / registry.yaml text, gateway processes, ports,
// paced echo streams and an openssl client speaking to gateway ports.

// MARK: - Identities (meshgate identity init / issuer / issue)

/// One PKI per test process, written with the binary's own `identity` subcommands: an anchor
/// for `cluster.local`, issuers `west`, `east` and `north`, each cluster's gateway leaf, and two
/// workload leaves under east's issuer (`shop/web`, `shop/other`).
final class GatewayPKI: Sendable {
    /// The three files a gateway (or an mTLS client) needs, as `identity issue` writes them.
    struct Files: Sendable {
        /// `tls.crt`: the leaf then the issuer.
        let cert: String
        /// `tls.key`.
        let key: String
        /// `ca.crt`: the trust bundle (the anchor).
        let trust: String

        init(folder: String) {
            cert = folder + "/tls.crt"
            key = folder + "/tls.key"
            trust = folder + "/ca.crt"
        }
    }

    let directory: String

    static func shared() throws -> GatewayPKI {
        switch sharedResult {
        case .success(let pki): return pki
        case .failure(let error): throw error
        }
    }

    private static let sharedResult: Result<GatewayPKI, TestFailure> = {
        do { return .success(try GatewayPKI()) } catch let e as TestFailure { return .failure(e) } catch {
            return .failure(TestFailure("\(error)"))
        }
    }()

    private init() throws {
        let dir = NSTemporaryDirectory() + "meshgate-gateway-pki-\(getpid())"
        directory = dir
        try? FileManager.default.removeItem(atPath: dir)
        atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "meshgate-gateway-pki-\(getpid())") }
        try Self.identity(["init", "--trust-domain", "cluster.local", "--out", dir + "/anchor"])
        for cluster in ["west", "east", "north"] {
            try Self.identity(["issuer", "--anchor", dir + "/anchor", "--cluster", cluster, "--out", "\(dir)/\(cluster)"])
            try Self.identity(["issue", "--issuer", "\(dir)/\(cluster)", "--gateway", "--out", "\(dir)/\(cluster)/gateway"])
        }
        for name in ["web", "other"] {
            try Self.identity(["issue", "--issuer", dir + "/east", "--namespace", "shop", "--name", name, "--out", "\(dir)/east/shop-\(name)"])
        }
    }

    /// Runs `meshgate identity ARGS`; throws unless it exits 0.
    private static func identity(_ arguments: [String]) throws {
        let run = try ChildProcess.run([MeshgateProcess.binary, "identity"] + arguments, timeout: 60)
        guard run.status == 0 else {
            throw TestFailure("meshgate identity \(arguments.joined(separator: " ")) exited \(run.status):\n\(run.stdout)\n\(run.stderr)")
        }
    }

    /// A cluster's gateway identity files.
    func gateway(_ cluster: String) -> Files { Files(folder: "\(directory)/\(cluster)/gateway") }

    /// A workload leaf of east's issuer (`shop/web`, `shop/other`).
    func workload(namespace: String, name: String) -> Files { Files(folder: "\(directory)/east/\(namespace)-\(name)") }

    /// `spiffe://cluster.local/ns/meshgate-<cluster>/sa/gateway`.
    static func gatewayIdentity(_ cluster: String) -> String { "spiffe://cluster.local/ns/meshgate-\(cluster)/sa/gateway" }

    /// `spiffe://cluster.local/ns/<namespace>/sa/<name>`.
    static func identity(namespace: String, name: String) -> String { "spiffe://cluster.local/ns/\(namespace)/sa/\(name)" }
}

// MARK: - Configuration text

/// A static route of gateway.yaml.
struct RouteSpec {
    var name: String
    var namespace = "default"
    var port: UInt16 = 7000
    var cluster = "west"
    var gateways: [String]
    var target: (namespace: String, name: String, port: UInt16)? = nil
    var listen: String? = nil
    var requireClientTLS: Bool? = nil

    /// The route key (`namespace/name:port`), as the gateway logs it.
    var key: String { "\(namespace)/\(name):\(port)" }

    var yaml: String {
        var s = """
              - name: \(name)
                namespace: \(namespace)
                port: \(port)
                cluster: \(cluster)
                gateways: [\(gateways.map { "\"\($0)\"" }.joined(separator: ", "))]

            """
        if let t = target { s += "    target: {namespace: \(t.namespace), name: \(t.name), port: \(t.port)}\n" }
        if let listen { s += "    listen: \(listen)\n" }
        if let requireClientTLS { s += "    requireClientTLS: \(requireClientTLS)\n" }
        return s
    }
}

/// A service of registry.yaml.
struct ServiceSpec {
    var namespace = "default"
    var name: String
    /// (port, targetPort)
    var ports: [(UInt16, UInt16)]
    var endpoints: [String]
    var exported = true
    /// nil: no `allow` key (any identity).
    var allow: [String]? = nil

    var yaml: String {
        var s = """
              - namespace: \(namespace)
                name: \(name)
                ports: [\(ports.map { "{port: \($0.0), targetPort: \($0.1)}" }.joined(separator: ", "))]
                endpoints: [\(endpoints.map { "\"\($0)\"" }.joined(separator: ", "))]
                exported: \(exported)

            """
        if let allow { s += "    allow: [\(allow.joined(separator: ", "))]\n" }
        return s
    }
}

enum GatewayYAML {
    /// gateway.yaml text.
    static func gateway(
        cluster: String, identity: GatewayPKI.Files, inbound: UInt16, outbound: ClosedRange<UInt16>, registry: String? = nil,
        ioBackend: String = "auto", routes: [RouteSpec] = [], links: String? = nil
    ) -> String {
        var s = """
            cluster: \(cluster)
            identity:
              cert: \(identity.cert)
              key: \(identity.key)
              trust: \(identity.trust)
            inbound:
              listen: 127.0.0.1:\(inbound)
            outbound:
              bind: 127.0.0.1
              ports: \(outbound.lowerBound)-\(outbound.upperBound)
            limits:
              drainTimeout: 2s
              connectTimeout: 2s
            loops: 2
            ioBackend: \(ioBackend)

            """
        if let registry { s += "registry: \(registry)\n" }
        // `links` is the value as written: a folder, or a flow mapping `{dir: …, probe: {…}}`.
        if let links { s += "links: \(links)\n" }
        if routes.isEmpty { return s }
        s += "routes:\n"
        for r in routes { s += r.yaml }
        return s
    }

    /// registry.yaml text.
    static func registry(_ services: [ServiceSpec]) -> String {
        if services.isEmpty { return "services: []\n" }
        return "services:\n" + services.map(\.yaml).joined()
    }
}

/// Writes `text` to `path` atomically (a temporary file in the same folder, renamed over it),
/// as the docs tell operators to, so a watcher never reads half a file.
func writeAtomically(_ text: String, to path: String) throws {
    let tmp = path + ".tmp-\(UUID().uuidString)"
    try text.write(toFile: tmp, atomically: false, encoding: .utf8)
    guard rename(tmp, path) == 0 else {
        let e = errno
        unlink(tmp)
        throw TestFailure("rename \(tmp) → \(path): \(String(cString: strerror(e)))")
    }
}

/// A fresh temporary folder for one test's files.
func makeTestDirectory(_ label: String) throws -> String {
    let dir = NSTemporaryDirectory() + "meshgate-\(label)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

// MARK: - Ports

enum GatewayPorts {
    /// `count` consecutive ports on 127.0.0.1, each bindable right now, below the ephemeral range
    /// (so that no client connection's source port lands on them while a test runs).
    static func freeBlock(count: Int) throws -> UInt16 {
        for _ in 0..<200 {
            let base = UInt16.random(in: 20_000...(32_000 - UInt16(count)))
            if (base..<(base + UInt16(count))).allSatisfy(canBind) { return base }
        }
        throw TestFailure("no block of \(count) free ports found")
    }

    /// Whether a listener could bind 127.0.0.1:`port` now (with SO_REUSEADDR, as meshgate does).
    static func canBind(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Connects to 127.0.0.1:`port` and closes at once: 0 when it connected, else the errno
    /// (ECONNREFUSED when nothing listens; on loopback the answer is immediate).
    static func connectErrno(_ port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return rc == 0 ? 0 : errno
    }
}

// MARK: - Gateway processes

/// A `meshgate gateway --config DIR/gateway.yaml` process, with its counters (`--stats-file`)
/// and log (standard error). Killed when released if still running.
final class GatewayProcess {
    let cluster: String
    let configPath: String
    let inboundPort: UInt16
    let process: MeshgateProcess
    /// Where each route listened at start, by route key (the `route table generation 1:` line).
    let initialRoutes: [String: UInt16]

    /// Writes `config` to `directory/gateway.yaml`, starts the gateway and waits (≤ 20 s) until
    /// it has published its first route table and listens on `inboundPort`. `nofile`: run it
    /// under `prlimit` with that RLIMIT_NOFILE.
    init(cluster: String, directory: String, config: String, inboundPort: UInt16, nofile: Int? = nil) throws {
        self.cluster = cluster
        self.inboundPort = inboundPort
        configPath = directory + "/gateway.yaml"
        try writeAtomically(config, to: configPath)
        let stats = directory + "/\(cluster)-stats.json"
        process = try MeshgateProcess(["gateway", "--config", configPath, "--stats-file", stats], statsFile: stats, nofile: nofile)
        let p = process
        let up = waitUntil(timeout: 20) {
            !p.process.isRunning
                || (p.stderr.contains("meshgate gateway of cluster \(cluster): inbound mTLS on") && LoopbackListeners.isListening(port: inboundPort))
        }
        guard up, process.process.isRunning else {
            throw TestFailure("gateway \(cluster) did not start (running: \(process.process.isRunning)):\n\(process.stderr)")
        }
        initialRoutes = Self.routes(inFirstTableLine: process.stderr)
    }

    /// Parses `route table generation 1: default/a:7000 on 127.0.0.1:4200, default/b:7001 on 127.0.0.1:4201`.
    static func routes(inFirstTableLine log: String) -> [String: UInt16] {
        guard let line = log.split(separator: "\n").first(where: { $0.contains("route table generation 1: ") }),
            let r = line.range(of: "route table generation 1: ")
        else { return [:] }
        var out: [String: UInt16] = [:]
        for entry in line[r.upperBound...].components(separatedBy: ", ") {
            let parts = entry.components(separatedBy: " on ")
            guard parts.count == 2, let colon = parts[1].lastIndex(of: ":"), let port = UInt16(parts[1][parts[1].index(after: colon)...]) else {
                continue
            }
            out[parts[0]] = port
        }
        return out
    }

    var stderr: String { process.stderr }

    /// Rewrites gateway.yaml (atomically).
    func writeConfig(_ text: String) throws { try writeAtomically(text, to: configPath) }

    /// SIGHUP: reload everything now.
    func reload() { process.signal(SIGHUP) }

    /// Log lines containing `text`.
    func logLines(containing text: String) -> [Substring] { process.logLines(containing: text) }

    /// Waits (≤ `timeout`) until the log holds at least `count` lines containing `text`.
    @discardableResult
    func waitLog(_ text: String, count: Int = 1, timeout: Double = 10) -> Bool {
        waitUntil(timeout: timeout) { self.process.logLines(containing: text).count >= count }
    }

    func counters(_ names: [String]) throws -> [String: Int] { try process.counters(names) }

    func counter(_ name: String) throws -> Int { try process.counter(name) }

    /// SIGTERM and wait (≤ 10 s) for the exit status.
    func stop() -> Int32? {
        process.signal(SIGTERM)
        return process.waitExit(timeout: 10)
    }

    /// The last part of the log, for failure messages.
    var logTail: String { "\(cluster):\n" + String(stderr.suffix(4000)) }
}

// MARK: - Streams

/// A long-lived echo stream that sends `chunk` bytes of its pattern every `interval`, reads the
/// echo back, and on `finish()` half-closes and checks the whole exchange: every byte back,
/// the same SHA-256 as sent, and a clean EOF (so a truncated or reset stream never passes).
final class PacedStream: @unchecked Sendable {
    let fd: Int32
    let chunk: Int
    let intervalMicros: UInt32
    private var sendStream: PatternStream
    private var sent = SHA256Hasher()
    private var got = SHA256Hasher()
    private let lock = NSLock()
    private var echoed = 0
    private var exchanges = 0
    private var failure: String?
    private var stopRequested = false
    private let stopped = DispatchSemaphore(value: 0)
    private var started = false

    /// Connects and completes one exchange.
    init(_ endpoint: Endpoint, seed: UInt64, chunk: Int = 4096, intervalMicros: UInt32 = 20_000) throws {
        self.chunk = chunk
        self.intervalMicros = intervalMicros
        sendStream = PatternStream(seed: seed)
        fd = try TestClient.connect(endpoint)
        do { try exchange() } catch {
            close(fd)
            throw error
        }
    }

    private func exchange() throws {
        var bytes = [UInt8](repeating: 0, count: chunk)
        bytes.withUnsafeMutableBytes { sendStream.fill($0) }
        sent.update(bytes: bytes)
        try TestClient.writeAll(fd: fd, bytes: bytes, timeout: .seconds(10))
        let back = TestClient.read(fd: fd, count: chunk, timeout: .seconds(10))
        got.update(bytes: back)
        lock.lock()
        echoed += back.count
        exchanges += 1
        lock.unlock()
        guard back.count == chunk else {
            throw TestFailure("paced stream: \(back.count) of \(chunk) bytes echoed after \(progress) bytes")
        }
    }

    /// Exchanges on a background thread until `finish()`.
    func start() {
        started = true
        Thread {
            while true {
                self.lock.lock()
                let stop = self.stopRequested
                self.lock.unlock()
                if stop { break }
                do { try self.exchange() } catch {
                    self.lock.lock()
                    self.failure = "\(error)"
                    self.lock.unlock()
                    break
                }
                usleep(self.intervalMicros)
            }
            self.stopped.signal()
        }.start()
    }

    var progress: Int {
        lock.lock()
        defer { lock.unlock() }
        return echoed
    }

    var exchangeCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return exchanges
    }

    /// Stops, half-closes, reads to EOF: nil when the stream is intact, else what went wrong.
    func finish() -> String? {
        if started {
            lock.lock()
            stopRequested = true
            lock.unlock()
            if stopped.wait(timeout: .now() + 30) == .timedOut { return "paced stream: the exchange thread did not stop" }
            started = false
        }
        lock.lock()
        let failed = failure
        lock.unlock()
        if let failed { return failed }
        TestClient.shutdownWrite(fd: fd)
        let (outcome, _) = TestClient.readAll(fd: fd, timeout: .seconds(10))
        guard outcome == .eof(bytes: 0) else { return "paced stream: ended with \(outcome) instead of a clean EOF after \(progress) bytes" }
        let s = sent.finalize()
        let g = got.finalize()
        guard s == g else { return "paced stream: SHA-256 mismatch over \(progress) bytes (sent \(s.prefix(12)), got \(g.prefix(12)))" }
        return nil
    }

    deinit {
        if started {
            lock.lock()
            stopRequested = true
            lock.unlock()
            _ = stopped.wait(timeout: .now() + 30)
        }
        close(fd)
    }
}

// MARK: - openssl s_client against gateway ports

enum GatewayTLSClient {
    /// `openssl s_client` to 127.0.0.1:`port` with ALPN meshgate/1, presenting `identity` (no
    /// certificate when nil), standard input kept open (`-quiet` implies `-ign_eof`) and
    /// commands off (binary input is sent as is).
    static func start(port: UInt16, identity: GatewayPKI.Files?, trust: String) throws -> ChildProcess {
        var argv = [
            "openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", trust, "-alpn", "meshgate/1", "-tls1_3", "-quiet",
            "-nocommands",
        ]
        if let identity { argv += ["-cert", identity.cert, "-cert_chain", identity.cert, "-key", identity.key] }
        return try ChildProcess(argv)
    }
}
