import Foundation
import MeshgateTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The test kit's log-file process runner, as the demo uses it for its gateways, redis-server
/// and `meshgate` subcommands: own process group, output in the log, the registry that stops
/// every child left, and runs bounded by a timeout or an interruption. Serialized, and the only
/// suite of the tests that spawns a `LoggedProcess`: `stopAll` stops every registered child.
@Suite(.serialized) struct LoggedProcessTests {
    static func logPath(_ name: String) -> String { NSTemporaryDirectory() + "meshgate-demo-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log" }

    @Test("a child runs in a process group of its own, its output in the log; stopAll stops it with SIGTERM")
    func spawnsAndStopsAll() throws {
        let log = Self.logPath("spawn")
        defer { try? FileManager.default.removeItem(atPath: log) }
        let child = try LoggedProcess(name: "sleeper", argv: ["/bin/sh", "-c", "echo started; exec sleep 30"], logPath: log)
        #expect(waitUntil(timeout: 5) { LoggedProcess.tail(log) == ["started"] }, "\(LoggedProcess.tail(log))")
        #expect(getpgid(child.pid) == child.pid)
        #expect(child.isRunning)
        let stopped = LoggedProcess.stopAll(grace: 4)
        #expect(stopped.contains { $0 === child })
        #expect(child.exitStatus == 128 + SIGTERM)
        #expect(LoggedProcess.stopAll().allSatisfy { $0 !== child }, "a reaped child is no longer registered")
    }

    @Test("run: the exit status and the output (stdout and stderr) of a command that finishes")
    func runsToCompletion() throws {
        let log = Self.logPath("run")
        defer { try? FileManager.default.removeItem(atPath: log) }
        let run = try LoggedProcess.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], logPath: log, timeout: 10)
        #expect(run.status == 3)
        #expect(run.output == "out\nerr\n")
    }

    @Test("run: a command that outlives its timeout is stopped, and so is one whose wait is interrupted")
    func runStopsOverdueAndInterrupted() throws {
        let log = Self.logPath("overdue")
        defer { try? FileManager.default.removeItem(atPath: log) }
        let overdue = #expect(throws: TestFailure.self) { try LoggedProcess.run(["/bin/sleep", "30"], logPath: log, timeout: 1) }
        #expect(overdue?.description == "/bin/sleep 30 did not finish within 1 s")
        struct Interrupted: Error {}
        let started = Date()
        #expect(throws: Interrupted.self) {
            try LoggedProcess.run(["/bin/sleep", "30"], logPath: log, timeout: 30, pause: { _ in throw Interrupted() })
        }
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(LoggedProcess.stopAll().isEmpty, "both sleeps were stopped")
    }
}
