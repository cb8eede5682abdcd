#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation

// Child processes of `meshgate demo` (docs/demo.md): spawned with posix_spawn into a process
// group of their own (so a Ctrl-C in the terminal reaches the demo only, which then stops them
// in order), their output in a log file, and every one of them registered so that every exit
// path of the demo can stop them.

/// A failed demo step: what went wrong, and whose log explains it.
struct DemoFailure: Error, CustomStringConvertible {
    let description: String
    /// The log to show the tail of (a gateway's log), if any.
    var log: (name: String, path: String)? = nil

    init(_ description: String, log: (name: String, path: String)? = nil) {
        self.description = description
        self.log = log
    }
}

/// Ctrl-C (SIGINT) or SIGTERM arrived while a step was running.
struct DemoInterrupted: Error, CustomStringConvertible {
    var description: String { "interrupted" }
}

/// SIGINT and SIGTERM, turned into a flag the demo's waits look at (a dispatch signal source:
/// no code runs in signal context).
final class DemoSignals: @unchecked Sendable {
    static let shared = DemoSignals()

    private let lock = NSLock()
    private var received: Int32? = nil
    private var sources: [DispatchSourceSignal] = []
    private let arrived = DispatchSemaphore(value: 0)

    /// Starts catching SIGINT and SIGTERM (and ignores SIGPIPE: a peer closing a socket is
    /// an error to report, not a reason to die). Children get the default dispositions back
    /// (`DemoChild` sets them on spawn).
    func install() {
        lock.lock()
        defer { lock.unlock() }
        guard sources.isEmpty else { return }
        Glibc.signal(SIGPIPE, SIG_IGN)
        for s in [SIGINT, SIGTERM] {
            Glibc.signal(s, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
            source.setEventHandler { [weak self] in self?.record(s) }
            source.resume()
            sources.append(source)
        }
    }

    private func record(_ s: Int32) {
        lock.lock()
        if received == nil { received = s }
        lock.unlock()
        arrived.signal()
    }

    /// The signal received, if any.
    var signal: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// Throws `DemoInterrupted` once a signal has arrived.
    func check() throws {
        if signal != nil { throw DemoInterrupted() }
    }

    /// Sleeps `seconds`, waking early (and throwing) when a signal arrives.
    func sleep(_ seconds: Double) throws {
        try check()
        if arrived.wait(timeout: .now() + seconds) == .success {
            arrived.signal()
            throw DemoInterrupted()
        }
    }

    /// Waits up to `seconds` for a signal; true when one arrived.
    func wait(upTo seconds: Double) -> Bool {
        if signal != nil { return true }
        if arrived.wait(timeout: .now() + seconds) == .success {
            arrived.signal()
            return true
        }
        return false
    }
}

/// One child process. Its pid is reaped exactly once (`waitpid`), after which it is never
/// signalled again (the number could belong to another process by then).
final class DemoChild: @unchecked Sendable {
    let name: String
    let pid: pid_t
    let argv: [String]
    /// Where its standard output and standard error go (appended).
    let logPath: String
    let started = Date()

    private let lock = NSLock()
    private var status: Int32? = nil

    /// Held while spawning, and by code that makes a descriptor close-on-exec after creating
    /// it (accept), so that no child inherits a descriptor the demo holds.
    private static let spawnLock = NSLock()

    static func withSpawnLock<T>(_ body: () -> T) -> T {
        spawnLock.lock()
        defer { spawnLock.unlock() }
        return body()
    }

    /// Every child not yet reaped, for `stopAll`.
    private static let registryLock = NSLock()
    private static var registry: [DemoChild] = []

    /// Spawns `argv` (argv[0] an absolute path) with standard input from /dev/null and
    /// standard output and error appended to `logPath`, in a new process group, with the
    /// default signal dispositions and no blocked signals.
    init(name: String, argv: [String], logPath: String) throws {
        self.name = name
        self.argv = argv
        self.logPath = logPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGUSR1, SIGCHLD] { sigaddset(&defaults, s) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = Self.withSpawnLock {
            cArgs.withUnsafeBufferPointer { args in
                posix_spawn(&pid, argv[0], &actions, &attributes, args.baseAddress!, environ)
            }
        }
        guard rc == 0 else {
            throw DemoFailure("cannot start \(argv.joined(separator: " ")): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        Self.registryLock.lock()
        Self.registry.append(self)
        Self.registryLock.unlock()
    }

    /// The exit status once it has exited (a normal exit's code, or 128 + the signal), else nil.
    var exitStatus: Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        var raw: Int32 = 0
        let rc = waitpid(pid, &raw, WNOHANG)
        guard rc == pid else { return nil }
        let s = Self.decode(raw)
        status = s
        Self.registryLock.lock()
        Self.registry.removeAll { $0 === self }
        Self.registryLock.unlock()
        return s
    }

    var isRunning: Bool { exitStatus == nil }

    /// Sends `s` while it has not been reaped.
    func signal(_ s: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if status == nil { kill(pid, s) }
    }

    /// Waits up to `timeout` seconds for it to exit; its status, or nil.
    func waitExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let s = exitStatus { return s }
            if Date() >= deadline { return nil }
            usleep(10_000)
        }
    }

    /// SIGTERM, up to `grace` seconds to exit, then SIGKILL. The exit status.
    @discardableResult
    func stop(grace: Double = 5) -> Int32 {
        signal(SIGTERM)
        if let s = waitExit(timeout: grace) { return s }
        signal(SIGKILL)
        return waitExit(timeout: 10) ?? 128 + SIGKILL
    }

    /// Every child still running: SIGTERM to all at once, up to `grace` seconds, then SIGKILL
    /// for the rest. How many were stopped.
    @discardableResult
    static func stopAll(grace: Double = 4) -> [DemoChild] {
        registryLock.lock()
        let children = registry
        registryLock.unlock()
        let running = children.filter(\.isRunning)
        for c in running {
            c.signal(SIGCONT)  // a stopped process (kill -STOP) handles SIGTERM only once resumed
            c.signal(SIGTERM)
        }
        let deadline = Date().addingTimeInterval(grace)
        while running.contains(where: \.isRunning) && Date() < deadline { usleep(10_000) }
        for c in running where c.isRunning { c.signal(SIGKILL) }
        for c in running { _ = c.waitExit(timeout: 10) }
        return running
    }

    /// Runs `argv` to completion (killed after `timeout` seconds), its output in `logPath`.
    /// Its exit status and output.
    static func run(_ argv: [String], logPath: String, timeout: Double = 30) throws -> (status: Int32, output: String) {
        try? FileManager.default.removeItem(atPath: logPath)
        let child = try DemoChild(name: URL(fileURLWithPath: argv[0]).lastPathComponent, argv: argv, logPath: logPath)
        let deadline = Date().addingTimeInterval(timeout)
        while child.isRunning {
            if DemoSignals.shared.signal != nil || Date() >= deadline {
                child.stop(grace: 1)
                try DemoSignals.shared.check()
                throw DemoFailure("\(argv.joined(separator: " ")) did not finish within \(Int(timeout)) s")
            }
            usleep(5_000)
        }
        let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return (child.exitStatus ?? 1, output)
    }

    private static func decode(_ raw: Int32) -> Int32 {
        let signalNumber = raw & 0x7f
        if signalNumber == 0 { return (raw >> 8) & 0xff }
        return 128 + signalNumber
    }
}

extension DemoChild {
    /// The last `lines` lines of a log file (empty when it cannot be read).
    static func tail(_ path: String, lines: Int = 20) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return Array(text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }.suffix(lines))
    }

    /// The binary running now: /proc/self/exe, else argv[0] made absolute.
    static func selfExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 {
            return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let arg0 = CommandLine.arguments[0]
        if arg0.hasPrefix("/") { return arg0 }
        if arg0.contains("/") { return FileManager.default.currentDirectoryPath + "/" + arg0 }
        return which(arg0) ?? arg0
    }

    /// The executable `name` on PATH, if any.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
