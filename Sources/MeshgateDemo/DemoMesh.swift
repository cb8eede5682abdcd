#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MeshgateAdmin
import MeshgateControl
import MeshgateTestKit

/// The three clusters of `meshgate demo` in one temporary folder: their files, ports, gateway
/// processes (this same binary), backends, and reads of their admin endpoints. Everything it
/// starts is stopped by `shutDown()`.
///
/// ```
/// <folder>/anchor/                    trust anchor (identity init)
/// <folder>/<cluster>/issuer/          the cluster's issuer (identity issuer)
/// <folder>/<cluster>/identity/        the gateway's tls.crt, tls.key, ca.crt (identity issue --gateway)
/// <folder>/<cluster>/gateway.yaml     registry.yaml, gateway.log
/// <folder>/east/links/                link bundles east mirrors (link add)
/// <folder>/bundles/                   west's and north's bundles (meshgate link)
/// ```
final class DemoMesh {
    static let clusters = ["east", "west", "north"]
    static let trustDomain = "cluster.local"
    /// east's links settings: probes much faster than the defaults (3s / 1s), so that north's
    /// outage is seen in about 3 s.
    static let probeInterval = "1s"
    static let probeTimeout = "500ms"

    /// Every port the mesh uses, from one block found free at start (below the ephemeral range).
    struct Ports {
        static let count = 21
        let base: UInt16

        func index(_ cluster: String) -> UInt16 { UInt16(DemoMesh.clusters.firstIndex(of: cluster) ?? 0) }
        func inbound(_ cluster: String) -> UInt16 { base + index(cluster) }
        func admin(_ cluster: String) -> UInt16 { base + 3 + index(cluster) }
        /// east gets ten route ports; west and north (no routes) two each.
        func outbound(_ cluster: String) -> ClosedRange<UInt16> {
            switch cluster {
            case "east": (base + 6)...(base + 15)
            case "west": (base + 16)...(base + 17)
            default: (base + 18)...(base + 19)
            }
        }
        var redis: UInt16 { base + 20 }
    }

    let folder: String
    let binary: String
    let ports: Ports
    private(set) var gateways: [String: LoggedProcess] = [:]
    private(set) var webBackends: [String: DemoWebBackend] = [:]
    private(set) var redis: LoggedProcess?
    private var commandNumber = 0

    init() throws {
        binary = ExecutablePath.current()
        ports = Ports(base: try LoopbackPorts.freeBlock(count: Ports.count))
        let template = NSTemporaryDirectory() + "meshgate-demo-XXXXXX"
        var chars = Array(template.utf8CString)
        guard let made = mkdtemp(&chars) else {
            throw DemoFailure("cannot make a temporary folder from \(template): \(String(cString: strerror(errno)))")
        }
        folder = String(cString: made)
        do {
            for sub in ["east/links", "west", "north", "bundles"] {
                try FileManager.default.createDirectory(atPath: "\(folder)/\(sub)", withIntermediateDirectories: true)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw DemoFailure("cannot make the folders in \(folder): \(error)")
        }
    }

    // MARK: Paths

    func path(_ relative: String) -> String { "\(folder)/\(relative)" }
    func configPath(_ cluster: String) -> String { path("\(cluster)/gateway.yaml") }
    func registryPath(_ cluster: String) -> String { path("\(cluster)/registry.yaml") }
    func logPath(_ cluster: String) -> String { path("\(cluster)/gateway.log") }
    func bundlePath(_ cluster: String) -> String { path("bundles/\(cluster).link.yaml") }
    func adminAddress(_ cluster: String) -> String { "127.0.0.1:\(ports.admin(cluster))" }
    func log(_ cluster: String) -> (name: String, path: String) { ("\(cluster)'s gateway", logPath(cluster)) }

    static func gatewayIdentity(_ cluster: String) -> String { "spiffe://\(trustDomain)/ns/meshgate-\(cluster)/sa/gateway" }

    // MARK: meshgate subcommands

    /// Runs `meshgate ARGS` (this binary) to completion; its output, or a failure naming the
    /// command and what it printed.
    @discardableResult
    func meshgate(_ arguments: [String], timeout: Double = 30) throws -> String {
        commandNumber += 1
        let output = path(".command-\(commandNumber).out")
        defer { try? FileManager.default.removeItem(atPath: output) }
        let run = try LoggedProcess.run([binary] + arguments, logPath: output, timeout: timeout, pause: DemoSignals.shared.sleep)
        guard run.status == 0 else {
            throw DemoFailure("meshgate \(arguments.joined(separator: " ")) exited \(run.status):\n\(run.output)")
        }
        return run.output
    }

    /// The anchor, and each cluster's issuer and gateway identity, made by `meshgate identity`.
    /// The identity each gateway certificate names, by cluster.
    func makeIdentities() throws -> [String: String] {
        try meshgate(["identity", "init", "--trust-domain", Self.trustDomain, "--out", path("anchor")])
        var names: [String: String] = [:]
        for c in Self.clusters {
            try meshgate(["identity", "issuer", "--anchor", path("anchor"), "--cluster", c, "--out", path("\(c)/issuer")])
            let issued = try meshgate(["identity", "issue", "--issuer", path("\(c)/issuer"), "--gateway", "--out", path("\(c)/identity")])
            // "wrote …" then "<identity>, valid until …"
            let uri = issued.split(separator: "\n").first { $0.hasPrefix("spiffe://") }.map { String($0.prefix { $0 != "," }) }
            names[c] = uri ?? Self.gatewayIdentity(c)
        }
        return names
    }

    // MARK: Files

    /// Writes `text` to `path` atomically (a temporary name, then a rename), as the docs tell
    /// operators to, so the gateway watching it never reads half a file.
    func writeAtomically(_ text: String, to target: String) throws {
        let tmp = target + ".tmp"
        do {
            try text.write(toFile: tmp, atomically: false, encoding: .utf8)
        } catch {
            throw DemoFailure("cannot write \(tmp): \(error)")
        }
        guard rename(tmp, target) == 0 else {
            throw DemoFailure("cannot rename \(tmp) to \(target): \(String(cString: strerror(errno)))")
        }
    }

    func gatewayYAML(_ cluster: String) -> String {
        let range = ports.outbound(cluster)
        var s = """
            # cluster \(cluster) of `meshgate demo` (reference: docs/gateway-config.md)
            cluster: \(cluster)
            trustDomain: \(Self.trustDomain)
            identity: {cert: identity/tls.crt, key: identity/tls.key, trust: identity/ca.crt}
            inbound: {listen: 127.0.0.1:\(ports.inbound(cluster))}
            outbound: {bind: 127.0.0.1, ports: \(range.lowerBound)-\(range.upperBound)}
            admin: {listen: \(adminAddress(cluster))}
            registry: registry.yaml
            limits: {connectTimeout: 2s, drainTimeout: 2s}
            loops: 1

            """
        if cluster == "east" {
            s += "links: {dir: links, probe: {interval: \(Self.probeInterval), timeout: \(Self.probeTimeout)}}   # fast, for the demo (defaults 3s, 1s)\n"
        }
        return s
    }

    /// A service of registry.yaml.
    struct Service {
        var name: String
        var port: UInt16
        var backend: UInt16
        var exported: Bool
        var allow: [String]? = nil
        var comment: String

        var yaml: String {
            var s = """
                  # \(comment)
                  - namespace: default
                    name: \(name)
                    ports: [{port: \(port), targetPort: \(backend)}]
                    endpoints: ["127.0.0.1:\(backend)"]
                    exported: \(exported)

                """
            if let allow { s += "    allow: [\(allow.joined(separator: ", "))]\n" }
            return s
        }
    }

    func registryYAML(_ cluster: String, _ services: [Service]) -> String {
        let head = "# the services of cluster \(cluster) (`meshgate demo`; reference: docs/gateway-config.md#registryyaml)\n"
        if services.isEmpty { return head + "services: []\n" }
        return head + "services:\n" + services.map(\.yaml).joined()
    }

    // MARK: Processes

    /// Starts `cluster`'s gateway (its log appended to gateway.log).
    func spawnGateway(_ cluster: String) throws -> LoggedProcess {
        let child = try LoggedProcess(
            name: "\(cluster)'s gateway", argv: [binary, "gateway", "--config", configPath(cluster)], logPath: logPath(cluster))
        gateways[cluster] = child
        return child
    }

    /// Waits (≤ `timeout` s) until `cluster`'s admin endpoint answers `/ready` with 200.
    func waitReady(_ cluster: String, timeout: Double = 20) throws {
        var last = "no answer yet"
        let ready = try waitUntil(timeout: timeout, every: 0.05, pause: DemoSignals.shared.sleep) {
            if let g = gateways[cluster], let status = g.exitStatus {
                throw DemoFailure("\(cluster)'s gateway exited with status \(status) while starting", log: log(cluster))
            }
            do {
                let r = try AdminClient.get(adminAddress(cluster), path: "/ready", timeout: .milliseconds(500))
                if r.status == 200 { return true }
                last = "/ready answered \(r.status): \(r.text.trimmingCharacters(in: .whitespacesAndNewlines))"
            } catch {
                last = "\(error)"
            }
            return false
        }
        guard ready else {
            throw DemoFailure("\(cluster)'s gateway was not ready within \(Int(timeout)) s (\(last))", log: log(cluster))
        }
    }

    /// `cluster`'s `/status`.
    func status(_ cluster: String) throws -> GatewayStatus {
        do {
            return try AdminClient.status(adminAddress(cluster), timeout: .seconds(3))
        } catch {
            throw DemoFailure("\(cluster)'s /status: \(error)", log: log(cluster))
        }
    }

    /// Polls `cluster`'s `/status` (≤ `timeout` s) until `condition` holds; that status.
    func waitStatus(_ cluster: String, timeout: Double, _ what: String, _ condition: (GatewayStatus) -> Bool) throws -> GatewayStatus {
        var lastError = ""
        var met: GatewayStatus?
        try waitUntil(timeout: timeout, every: 0.05, pause: DemoSignals.shared.sleep) {
            do {
                let s = try AdminClient.status(adminAddress(cluster), timeout: .seconds(2))
                if condition(s) { met = s }
                lastError = ""
            } catch {
                lastError = " (last /status read: \(error))"
            }
            return met != nil
        }
        guard let met else { throw DemoFailure("\(what): not within \(Int(timeout)) s\(lastError)", log: log(cluster)) }
        return met
    }

    func startWebBackend(_ cluster: String) throws -> DemoWebBackend {
        let b = try DemoWebBackend(cluster: cluster)
        webBackends[cluster] = b
        return b
    }

    /// Starts redis-server on the mesh's redis port and waits (≤ 10 s) for PONG.
    func startRedis(_ executable: String) throws {
        let dataDir = path("west/redis")
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let child = try LoggedProcess(
            name: "redis-server",
            argv: [
                executable, "--port", String(ports.redis), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dataDir,
            ],
            logPath: path("west/redis.log"))
        redis = child
        let answered = try waitUntil(timeout: 10, every: 0.05, pause: DemoSignals.shared.sleep) {
            if let s = child.exitStatus {
                throw DemoFailure("redis-server exited with status \(s)", log: ("redis-server's", path("west/redis.log")))
            }
            guard let client = try? DemoRedisClient(port: ports.redis, timeout: 1) else { return false }
            return (try? client.command(["PING"])) == "PONG"
        }
        guard answered else {
            throw DemoFailure("redis-server did not answer PING within 10 s", log: ("redis-server's", path("west/redis.log")))
        }
    }

    // MARK: Clean-up

    /// Stops every child process and backend. The names of the processes that were running.
    func shutDown() -> [String] {
        let stopped = LoggedProcess.stopAll(grace: 4)
        for b in webBackends.values { b.stop() }
        return stopped.map(\.name)
    }

    /// Deletes the folder; nil when done, else why not.
    func removeFolder() -> String? {
        do {
            try FileManager.default.removeItem(atPath: folder)
            return nil
        } catch {
            return "\(error)"
        }
    }
}
