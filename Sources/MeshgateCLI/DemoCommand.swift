import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `meshgate demo`: three clusters on loopback, linked, with traffic and a failure domain shown
/// (docs/demo.md). The steps are in DemoSteps.swift; the processes, files and ports in
/// DemoMesh.swift, DemoProcesses.swift and DemoNetwork.swift.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run three linked clusters (east, west, north) on loopback: mirrored routes, traffic, a failure domain.",
        discussion: """
            Makes identities with `meshgate identity`, starts a `meshgate gateway` per cluster (this \
            binary, loopback ports found free), real backends in west and north (an HTTP server; \
            redis-server when it is on PATH), links east to west and north with `meshgate link` / \
            `meshgate link add`, sends traffic through east's mirrored routes, then stops north's \
            gateway to show its routes failing fast while east → west keeps working, and restarts \
            it. Then it keeps running for you to explore until Ctrl-C, which stops every process \
            and deletes the temporary folder. No root needed. See docs/demo.md.
            """
    )

    @Flag(name: .long, help: "Leave the temporary folder (identities, configs, bundles, logs) in place at the end and print its path.")
    var keep = false

    @Flag(name: .customLong("exit"), help: "Run the steps, then clean up and exit (0 when every step worked, 1 when one failed): for tests and CI.")
    var exitWhenDone = false

    func run() throws {
        // Line by line even into a pipe (`meshgate demo | tee`), so the story is told as it happens.
        setvbuf(stdout, nil, _IOLBF, 0)
        DemoSignals.shared.install()
        let code = DemoRun(keep: keep, exitWhenDone: exitWhenDone).run()
        if code != 0 { throw ExitCode(code) }
    }
}

/// One run of the demo: the steps, then exploring (unless `--exit`), then the clean-up, which
/// happens on every path (a failed step, a signal, the end).
final class DemoRun {
    let keep: Bool
    let exitWhenDone: Bool
    let started = Date()
    var mesh: DemoMesh?

    // What the steps learn, for the later ones.
    var identities: [String: String] = [:]
    var hasRedis = false
    /// Mirrored routes on east by key (`default/web-west:80`): their listener port.
    var routePorts: [String: UInt16] = [:]

    init(keep: Bool, exitWhenDone: Bool) {
        self.keep = keep
        self.exitWhenDone = exitWhenDone
    }

    /// The exit status: 0, 1 (a step failed) or 130 (interrupted before the steps were done).
    func run() -> Int32 {
        print("meshgate demo: three clusters (east, west, north) on loopback, a gateway each, linked east → west and east → north")
        var code: Int32 = 0
        var interruptedAfterSteps = false
        do {
            let mesh = try DemoMesh()
            self.mesh = mesh
            print("folder: \(mesh.folder) (\(keep ? "kept at the end: --keep" : "deleted at the end; --keep keeps it"))")
            try steps(mesh)
            if !exitWhenDone {
                try explore(mesh)
                interruptedAfterSteps = true
            }
        } catch is DemoInterrupted {
            print("")
            print("interrupted (\(DemoSignals.shared.signal == SIGTERM ? "SIGTERM" : "Ctrl-C")) before the demo was done")
            code = 130
        } catch let failure as DemoFailure {
            report(failure)
            code = 1
        } catch {
            report(DemoFailure("\(error)"))
            code = 1
        }
        cleanUp(signalled: interruptedAfterSteps)
        return code
    }

    /// What went wrong, on standard error, with the tail of the relevant log.
    func report(_ failure: DemoFailure) {
        var text = "\nmeshgate demo: failed: \(failure.description)\n"
        if let log = failure.log {
            let lines = DemoChild.tail(log.path, lines: 25)
            text += "--- the last \(DemoOutput.count(lines.count, "line")) of \(log.name) log (\(log.path)) ---\n"
            text += lines.joined(separator: "\n") + "\n---\n"
        }
        FileHandleStandardError.write(text)
    }

    /// Stops every process, closes every port, deletes the folder unless `--keep`.
    func cleanUp(signalled: Bool) {
        DemoOutput.section(signalled ? "Stopping (\(DemoSignals.shared.signal == SIGTERM ? "SIGTERM" : "Ctrl-C"))" : "Cleaning up")
        guard let mesh else {
            let stopped = DemoChild.stopAll()
            if !stopped.isEmpty { DemoOutput.line("stopped \(stopped.map(\.name).joined(separator: ", "))") }
            return
        }
        let stopped = mesh.shutDown()
        DemoOutput.line(stopped.isEmpty ? "no process was running" : "stopped \(DemoOutput.list(stopped)) (SIGTERM; each has exited)")
        let block = mesh.ports.base...(mesh.ports.base + UInt16(DemoMesh.Ports.count) - 1)
        let bound = block.filter { !DemoSockets.canBind($0) }
        if bound.isEmpty {
            DemoOutput.line("ports 127.0.0.1:\(block.lowerBound)-\(block.upperBound) are free again; the backends' sockets are closed")
        } else {
            DemoOutput.line("ports still in use: \(bound.map(String.init).joined(separator: ", ")) (not by the demo's processes, which have exited)")
        }
        if keep {
            DemoOutput.line("kept \(mesh.folder) (--keep): anchor/, bundles/, and per cluster identity/, gateway.yaml, registry.yaml, gateway.log")
        } else if let problem = mesh.removeFolder() {
            DemoOutput.line("could not delete \(mesh.folder): \(problem)")
        } else {
            DemoOutput.line("deleted \(mesh.folder)")
        }
    }
}

/// How the demo prints: short headed sections, one fact a line, indented under the heading.
enum DemoOutput {
    static func section(_ title: String) {
        print("")
        print("== \(title)")
    }

    static func line(_ text: String) {
        print("   \(text)")
    }

    /// Rows as aligned columns, indented.
    static func table(_ rows: [[String]]) {
        guard let first = rows.first else { return }
        var t = TextTable(first)
        for r in rows.dropFirst() { t.add(r) }
        for l in t.text.split(separator: "\n", omittingEmptySubsequences: false) { line(String(l)) }
    }

    /// `0.42 ms`, `12 ms`.
    static func ms(_ seconds: Double) -> String {
        let ms = seconds * 1000
        return ms < 10 ? String(format: "%.2f ms", ms) : String(format: "%.0f ms", ms)
    }

    /// `1.2 s`.
    static func s(_ seconds: Double) -> String { String(format: "%.1f s", seconds) }

    static func since(_ date: Date) -> String { s(Date().timeIntervalSince(date)) }

    /// `1 probe`, `3 probes`.
    static func count(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }

    /// `a, b and c`.
    static func list(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + items.last!
    }

    /// The `q` quantile of `values` (seconds), nil when empty.
    static func quantile(_ values: [Double], _ q: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count - 1)).rounded())))]
    }

    /// `1.2 KB`, `340 B`.
    static func bytes(_ n: Int) -> String {
        if n < 1000 { return "\(n) B" }
        if n < 1_000_000 { return String(format: "%.1f KB", Double(n) / 1000) }
        return String(format: "%.1f MB", Double(n) / 1_000_000)
    }

    /// The first line of an answer body, shortened.
    static func quote(_ body: String) -> String {
        let first = body.split(separator: "\n").first.map(String.init) ?? ""
        return "\"" + (first.count > 90 ? String(first.prefix(89)) + "…" : first) + "\""
    }
}
