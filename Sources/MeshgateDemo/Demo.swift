#if canImport(Glibc)
import Glibc
#endif

/// `meshgate demo`: three clusters on loopback, linked, with traffic and a failure domain shown
/// (docs/demo.md). The steps are in DemoSteps.swift; the processes, files and ports in
/// DemoMesh.swift. The command line (`DemoCommand` in MeshgateCLI) only parses its flags and
/// calls ``run(keep:exitWhenDone:)``.
public enum Demo {
    /// Runs the demo in this process: catches SIGINT and SIGTERM, prints line by line, and
    /// returns the exit status: 0, 1 (a step failed) or 130 (interrupted before the steps were
    /// done).
    /// - Parameters:
    ///   - keep: leave the temporary folder in place at the end (`--keep`).
    ///   - exitWhenDone: clean up and return after the steps instead of waiting for Ctrl-C (`--exit`).
    public static func run(keep: Bool, exitWhenDone: Bool) -> Int32 {
        // Line by line even into a pipe (`meshgate demo | tee`), so the story is told as it happens.
        setvbuf(stdout, nil, _IOLBF, 0)
        DemoSignals.shared.install()
        return DemoRun(keep: keep, exitWhenDone: exitWhenDone).run()
    }
}
