import Foundation
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

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

    /// Waits (≤ `timeout`, looking every `interval` seconds) until the log holds at least `count`
    /// lines containing `text`.
    @discardableResult
    func waitLog(_ text: String, count: Int = 1, timeout: Double = 10, every interval: Double = 0.02) -> Bool {
        waitUntil(timeout: timeout, every: interval) { self.process.logLines(containing: text).count >= count }
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
