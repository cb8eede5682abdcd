import MeshgateLoad
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process (openssl, haproxy, a script) with its standard input as a pipe and its
/// output collected. Killed with SIGKILL when released if still running, so no path leaks it.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    let arguments: [String]
    private let inPipe = Pipe()
    private let outPipe = Pipe()
    private let errPipe = Pipe()
    private let lock = NSLock()
    private var out: PipeReader?
    private var err: PipeReader?
    private var stdinClosed = false

    init(_ argv: [String], environment: [String: String] = [:]) throws {
        ProcessResources.ignoreSIGPIPE()
        arguments = argv
        process.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : Self.which(argv[0]))
        process.arguments = Array(argv.dropFirst())
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardInput = inPipe
        process.standardOutput = outPipe
        process.standardError = errPipe
        try process.run()
        out = PipeReader(outPipe)
        err = PipeReader(errPipe)
    }

    /// `/usr/bin/NAME` or `/usr/sbin/NAME`, whichever exists.
    static func which(_ name: String) -> String {
        for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        return "/usr/bin/\(name)"
    }

    /// Runs `argv` to completion (killed after `timeout`) and returns its status and output.
    static func run(_ argv: [String], timeout: Double) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = try ChildProcess(argv)
        p.closeStdin()
        guard let status = p.waitExit(timeout: timeout) else {
            throw TestFailure("\(argv.joined(separator: " ")) did not finish within \(timeout) s")
        }
        return (status, String(decoding: p.stdoutData, as: UTF8.self), p.stderrText)
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    var stdoutData: Data { out?.bytes ?? Data() }

    var stdoutCount: Int { out?.count ?? 0 }

    var stderrText: String { String(decoding: err?.bytes ?? Data(), as: UTF8.self) }

    /// Writes all of `bytes` to the child's standard input (blocking while the pipe is full).
    func writeStdin(_ bytes: [UInt8]) throws {
        let fd = inPipe.fileHandleForWriting.fileDescriptor
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw TestFailure("write to \(arguments[0]) stdin: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// Writes `bytes` to standard input on a background thread; the returned semaphore is
    /// signalled when done (the error, if any, is in `writeError`).
    func writeStdinInBackground(_ bytes: [UInt8]) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread {
            do { try self.writeStdin(bytes) } catch {
                self.lock.lock()
                self.writeFailure = "\(error)"
                self.lock.unlock()
            }
            done.signal()
        }.start()
        return done
    }

    private var writeFailure: String?
    var writeError: String? {
        lock.lock()
        defer { lock.unlock() }
        return writeFailure
    }

    func closeStdin() {
        lock.lock()
        defer { lock.unlock() }
        guard !stdinClosed else { return }
        stdinClosed = true
        try? inPipe.fileHandleForWriting.close()
    }

    /// Waits until standard output holds at least `count` bytes; false on timeout.
    func waitStdout(count: Int, timeout: Double) -> Bool {
        waitUntil(timeout: timeout) { self.stdoutCount >= count }
    }

    /// Waits for exit; returns the status, or nil on timeout.
    func waitExit(timeout: Double) -> Int32? {
        guard waitUntil(timeout: timeout, { !self.process.isRunning }) else { return nil }
        process.waitUntilExit()
        drainOutput()
        return process.terminationStatus
    }

    /// SIGKILL (if running) and reap.
    func kill() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// After exit: stop the asynchronous readers and take what is still in the pipes.
    /// The child has exited: waits (bounded: a grandchild may hold the pipes) for the readers
    /// to reach end of file.
    private func drainOutput() {
        out?.waitForEnd(timeout: 5)
        err?.waitForEnd(timeout: 5)
    }

    deinit {
        kill()
        try? inPipe.fileHandleForWriting.close()
    }
}
