import Foundation
import MeshgateLoad
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

/// A real `meshgate` process started for a test, with its standard error captured and its
/// counters read from `--stats-file`. Killed (SIGKILL) when released if still running.
final class MeshgateProcess: @unchecked Sendable {
    let process = Process()
    let statsFile: String
    private let errPipe = Pipe()
    private var errReader: PipeReader?

    /// The `meshgate` binary: `$MESHGATE_BIN`, else the debug build next to the sources.
    static var binary: String {
        if let b = ProcessInfo.processInfo.environment["MESHGATE_BIN"], !b.isEmpty { return b }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/meshgate").path
    }

    /// Runs `meshgate` with `arguments` (optionally under `prlimit` for RLIMIT_NOFILE).
    init(_ arguments: [String], statsFile: String? = nil, nofile: Int? = nil, environment: [String: String] = [:]) throws {
        self.statsFile = statsFile ?? NSTemporaryDirectory() + "meshgate-stats-\(UUID().uuidString).json"
        if let nofile {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
            process.arguments = ["--nofile=\(nofile):\(nofile)", "--", Self.binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: Self.binary)
            process.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardError = errPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        errReader = PipeReader(errPipe)
    }

    /// Starts `meshgate proxy` on an ephemeral port and waits until it listens.
    static func proxy(upstreams: [Endpoint], backend: String, extra: [String] = [], nofile: Int? = nil) throws -> (MeshgateProcess, Endpoint) {
        var args = ["proxy", "--listen", "127.0.0.1:0", "--io-backend", backend, "--threads", "2"]
        for u in upstreams { args += ["--upstream", u.description] }
        let stats = NSTemporaryDirectory() + "meshgate-stats-\(UUID().uuidString).json"
        let p = try MeshgateProcess(args + extra + ["--stats-file", stats], statsFile: stats, nofile: nofile)
        let port = try p.waitForListening()
        return (p, Endpoint(host: "127.0.0.1", port: port))
    }

    var stderr: String { String(decoding: errReader?.bytes ?? Data(), as: UTF8.self) }

    /// Waits for the start-up line and returns the bound port.
    func waitForListening(timeout: Double = 20) throws -> UInt16 {
        var port: UInt16?
        waitUntil(timeout: timeout) {
            let text = stderr
            if let r = text.range(of: "listening on 127.0.0.1:") { port = UInt16(text[r.upperBound...].prefix { $0.isNumber }) }
            return port != nil || !process.isRunning
        }
        guard let port else { throw TestFailure("meshgate did not start listening:\n\(stderr)") }
        return port
    }

    /// Sends SIGUSR1 and parses the JSON counters it writes to the stats file.
    func stats(timeout: Double = 5) throws -> [String: Any] {
        try? FileManager.default.removeItem(atPath: statsFile)
        kill(process.processIdentifier, SIGUSR1)
        var counters: [String: Any]?
        waitUntil(timeout: timeout) {
            counters = FileManager.default.contents(atPath: statsFile).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            return counters != nil
        }
        guard let counters else { throw TestFailure("no stats from meshgate:\n\(stderr)") }
        return counters
    }

    /// One counter as an integer.
    func counter(_ name: String) throws -> Int {
        (try stats()[name] as? NSNumber)?.intValue ?? -1
    }

    func signal(_ s: Int32) { kill(process.processIdentifier, s) }

    /// Waits (≤ `timeout` s) until the log says that a stop signal began the drain.
    func waitForDraining(timeout: Double = 10) -> Bool {
        waitUntil(timeout: timeout) { self.stderr.contains(": draining: no new connections") }
    }

    /// Waits for exit; returns the status, or nil on timeout.
    func waitExit(timeout: Double) -> Int32? {
        guard waitUntil(timeout: timeout, { !process.isRunning }) else { return nil }
        process.waitUntilExit()
        collectRemainingStderr()
        return process.terminationStatus
    }

    /// After exit: waits (bounded) for the reader to reach the end of the pipe.
    private func collectRemainingStderr() {
        errReader?.waitForEnd(timeout: 5)
    }

    /// The process id of meshgate itself (prlimit execs it, so the same pid).
    var pid: Int32 { process.processIdentifier }

    deinit {
        if !process.isRunning && process.terminationReason == .uncaughtSignal && process.terminationStatus != SIGKILL {
            print("meshgate died from signal \(process.terminationStatus):\n\(stderr)")
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: statsFile)
    }
}

/// Reads from /proc for a process.
enum ProcStat {
    /// Resident set size in KiB.
    static func rssKiB(_ pid: Int32) -> Int {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return -1 }
        for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
        }
        return -1
    }

    /// CPU time (user + system) in seconds.
    static func cpuSeconds(_ pid: Int32) -> Double {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = s.lastIndex(of: ")") else { return -1 }
        let fields = s[s.index(after: close)...].split(separator: " ")
        // fields[0] is state (field 3); utime is field 14, stime 15 → indexes 11, 12.
        guard fields.count > 12, let u = Double(fields[11]), let st = Double(fields[12]) else { return -1 }
        return (u + st) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

