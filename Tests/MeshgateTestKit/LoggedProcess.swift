import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A long-running child process (a gateway, redis-server) whose standard output and error are
/// appended to a log file, spawned with `posix_spawn` into a process group of its own (a Ctrl-C
/// in the terminal reaches the parent only, which then stops it), with the default signal
/// dispositions and no blocked signals. Every one is registered until reaped, so that
/// ``stopAll(grace:)`` can stop what is left on any exit path. (``ChildProcess`` is the runner
/// for children whose output a test reads through pipes.)
///
/// Its pid is reaped exactly once (`waitpid`), after which it is never signalled again (the
/// number could belong to another process by then).
public final class LoggedProcess: @unchecked Sendable {
    public let name: String
    public let pid: pid_t
    public let argv: [String]
    /// Where its standard output and standard error go (appended).
    public let logPath: String
    public let started = Date()

    // Invariant: `status` is only touched with `lock` held.
    private let lock = NSLock()
    private var status: Int32? = nil

    /// Held while spawning, and by code that makes a descriptor close-on-exec after creating
    /// it (accept), so that no child inherits a descriptor the parent holds.
    private static let spawnLock = NSLock()

    /// Runs `body` under the spawn lock (no child is spawned meanwhile).
    public static func withSpawnLock<T>(_ body: () -> T) -> T {
        spawnLock.withLock(body)
    }

    /// Every child not yet reaped, for ``stopAll(grace:)``.
    private static let registry = LockedBox<[LoggedProcess]>([])

    /// Spawns `argv` (argv[0] an absolute path) with standard input from /dev/null and
    /// standard output and error appended to `logPath`.
    public init(name: String, argv: [String], logPath: String) throws {
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
            throw TestFailure("cannot start \(argv.joined(separator: " ")): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        Self.registry.modify { $0.append(self) }
    }

    /// The exit status once it has exited (a normal exit's code, or 128 + the signal), else nil.
    public var exitStatus: Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        var raw: Int32 = 0
        guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
        let s = Self.decode(raw)
        status = s
        Self.registry.modify { $0.removeAll { $0 === self } }
        return s
    }

    public var isRunning: Bool { exitStatus == nil }

    /// Sends `s` while it has not been reaped.
    public func signal(_ s: Int32) {
        lock.withLock {
            if status == nil { _ = kill(pid, s) }
        }
    }

    /// Waits up to `timeout` seconds for it to exit; its status, or nil.
    public func waitExit(timeout: Double) -> Int32? {
        waitUntil(timeout: timeout, every: 0.01) { !isRunning } ? exitStatus : nil
    }

    /// SIGTERM, up to `grace` seconds to exit, then SIGKILL. The exit status.
    @discardableResult
    public func stop(grace: Double = 5) -> Int32 {
        signal(SIGTERM)
        if let s = waitExit(timeout: grace) { return s }
        signal(SIGKILL)
        return waitExit(timeout: 10) ?? 128 + SIGKILL
    }

    /// Every child still running: SIGTERM to all at once, up to `grace` seconds, then SIGKILL
    /// for the rest. The ones that were stopped.
    @discardableResult
    public static func stopAll(grace: Double = 4) -> [LoggedProcess] {
        let running = registry.value.filter(\.isRunning)
        for c in running {
            c.signal(SIGCONT)  // a stopped process (kill -STOP) handles SIGTERM only once resumed
            c.signal(SIGTERM)
        }
        waitUntil(timeout: grace, every: 0.01) { !running.contains(where: \.isRunning) }
        for c in running where c.isRunning { c.signal(SIGKILL) }
        for c in running { _ = c.waitExit(timeout: 10) }
        return running
    }

    /// Runs `argv` to completion, its output in `logPath` (replaced): its exit status and output.
    /// Stopped (SIGTERM, then SIGKILL after 1 s) after `timeout` seconds (an error), or when
    /// `pause` (the sleep between two looks) throws, which rethrows that error.
    public static func run(
        _ argv: [String], logPath: String, timeout: Double = 30, pause: (Double) throws -> Void = { usleep(useconds_t($0 * 1_000_000)) }
    ) throws -> (status: Int32, output: String) {
        try? FileManager.default.removeItem(atPath: logPath)
        let child = try LoggedProcess(name: URL(fileURLWithPath: argv[0]).lastPathComponent, argv: argv, logPath: logPath)
        let exited: Bool
        do {
            exited = try waitUntil(timeout: timeout, every: 0.005, pause: pause) { !child.isRunning }
        } catch {
            child.stop(grace: 1)
            throw error
        }
        guard exited else {
            child.stop(grace: 1)
            throw TestFailure("\(argv.joined(separator: " ")) did not finish within \(Int(timeout)) s")
        }
        let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return (child.exitStatus ?? 1, output)
    }

    /// The last `lines` non-empty lines of a log file (empty when it cannot be read).
    public static func tail(_ path: String, lines: Int = 20) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return Array(text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }.suffix(lines))
    }

    private static func decode(_ raw: Int32) -> Int32 {
        let signalNumber = raw & 0x7f
        if signalNumber == 0 { return (raw >> 8) & 0xff }
        return 128 + signalNumber
    }
}
