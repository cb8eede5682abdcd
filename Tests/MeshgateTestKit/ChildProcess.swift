import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process (openssl, haproxy, a script, the meshgate binary) with its standard input as a
/// pipe and its standard output and error each collected by a ``PipeReader`` thread. Killed with
/// SIGKILL when released if still running, so no path leaks it.
public final class ChildProcess: @unchecked Sendable {
    public let process = Process()
    public let arguments: [String]
    private let inPipe = Pipe()
    private let outPipe = Pipe()
    private let errPipe = Pipe()
    private let lock = NSLock()
    private var out: PipeReader?
    private var err: PipeReader?
    private var stdinClosed = false
    private var writeFailure: String?

    /// Starts `argv` (`argv[0]` a path, or a name looked up by ``which(_:)``) with the test
    /// process's environment plus `environment`.
    public init(_ argv: [String], environment: [String: String] = [:]) throws {
        signal(SIGPIPE, SIG_IGN)  // a child that exits early must not kill the test process
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

    /// `/usr/bin/NAME` or `/usr/sbin/NAME` (or /bin, /sbin, /usr/local/bin), whichever exists.
    public static func which(_ name: String) -> String {
        ExecutablePath.find(name, in: ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"]) ?? "/usr/bin/\(name)"
    }

    /// Runs `argv` to completion (killed after `timeout` seconds) and returns its status and output.
    public static func run(_ argv: [String], timeout: Double, environment: [String: String] = [:]) throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        let p = try ChildProcess(argv, environment: environment)
        p.closeStdin()
        guard let status = p.waitExit(timeout: timeout) else {
            throw TestFailure("\(argv.joined(separator: " ")) did not finish within \(timeout) s")
        }
        return (status, String(decoding: p.stdoutData, as: UTF8.self), p.stderrText)
    }

    /// Runs `argv` like ``run(_:timeout:environment:)``; throws unless it exits 0.
    @discardableResult
    public static func check(_ argv: [String], timeout: Double = 60) throws -> String {
        let run = try run(argv, timeout: timeout)
        guard run.status == 0 else {
            throw TestFailure("\(argv.joined(separator: " ")) exited \(run.status):\n\(run.stdout)\n\(run.stderr)")
        }
        return run.stdout
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Standard output read so far.
    public var stdoutData: Data { out?.bytes ?? Data() }
    public var stdoutCount: Int { out?.count ?? 0 }
    /// Standard error read so far.
    public var stderrText: String { String(decoding: err?.bytes ?? Data(), as: UTF8.self) }

    /// Writes all of `bytes` to the child's standard input (blocking while the pipe is full).
    public func writeStdin(_ bytes: [UInt8]) throws {
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
    public func writeStdinInBackground(_ bytes: [UInt8]) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread {
            do { try self.writeStdin(bytes) } catch {
                self.lock.withLock { self.writeFailure = "\(error)" }
            }
            done.signal()
        }.start()
        return done
    }

    /// Why the last background write failed, if it did.
    public var writeError: String? { lock.withLock { writeFailure } }

    public func closeStdin() {
        lock.lock()
        defer { lock.unlock() }
        guard !stdinClosed else { return }
        stdinClosed = true
        try? inPipe.fileHandleForWriting.close()
    }

    /// Waits until standard output holds at least `count` bytes; false on timeout.
    public func waitStdout(count: Int, timeout: Double) -> Bool {
        waitUntil(timeout: timeout) { self.stdoutCount >= count }
    }

    /// Waits for exit; returns the status, or nil on timeout. After exit, waits (bounded: a
    /// grandchild may hold the pipes) for the readers to reach end of file.
    public func waitExit(timeout: Double) -> Int32? {
        guard waitUntil(timeout: timeout, { !self.process.isRunning }) else { return nil }
        process.waitUntilExit()
        out?.waitForEnd(timeout: 5)
        err?.waitForEnd(timeout: 5)
        return process.terminationStatus
    }

    /// SIGTERM (if running); does not wait.
    public func terminate() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGTERM) }
    }

    /// SIGKILL (if running) and reap.
    public func kill() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit {
        kill()
        try? inPipe.fileHandleForWriting.close()
    }
}
