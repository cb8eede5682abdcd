#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MeshgateTestKit

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

    /// Prints `rows` (a header first) as aligned columns, indented.
    func table(_ rows: [[String]]) {
        DemoOutput.table(rows)
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
            print("interrupted (\(DemoSignals.shared.signalName)) before the demo was done")
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
            let lines = LoggedProcess.tail(log.path, lines: 25)
            text += "--- the last \(DemoOutput.count(lines.count, "line")) of \(log.name) log (\(log.path)) ---\n"
            text += lines.joined(separator: "\n") + "\n---\n"
        }
        fputs(text, stderr)
    }

    /// Stops every process, closes every port, deletes the folder unless `--keep`.
    func cleanUp(signalled: Bool) {
        DemoOutput.section(signalled ? "Stopping (\(DemoSignals.shared.signalName))" : "Cleaning up")
        guard let mesh else {
            let stopped = LoggedProcess.stopAll()
            if !stopped.isEmpty { DemoOutput.line("stopped \(stopped.map(\.name).joined(separator: ", "))") }
            return
        }
        let stopped = mesh.shutDown()
        DemoOutput.line(stopped.isEmpty ? "no process was running" : "stopped \(DemoOutput.list(stopped)) (SIGTERM; each has exited)")
        let block = mesh.ports.base...(mesh.ports.base + UInt16(DemoMesh.Ports.count) - 1)
        let bound = block.filter { !LoopbackPorts.canBind($0) }
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
