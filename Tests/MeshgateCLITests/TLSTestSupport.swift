import Foundation
import MeshgateLoad
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The end-to-end mTLS suites of `meshgate proxy` (chain, interop, refusals) run one test at a
/// time: their timing and memory checks must not compete with each other for the two cores.
@Suite(.serialized) enum TLSEndToEnd {
    static let backends = ["uring", "epoll"]
}

// MARK: - External processes (openssl, haproxy)

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

/// `openssl s_client` / `s_server` with the test PKI.
enum OpenSSLPeer {
    /// `openssl s_client` to 127.0.0.1:`port` presenting `leaf` (none when nil), with standard
    /// input kept open (`-quiet` implies `-ign_eof`: it stays connected until the server closes).
    static func client(port: UInt16, pki: TestPKIFiles, leaf: String?, _ extra: [String]) throws -> ChildProcess {
        var argv = ["openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", pki.bundle, "-quiet", "-nocommands"]
        if let leaf { argv += ["-cert", pki.cert(leaf), "-cert_chain", pki.chain(leaf), "-key", pki.key(leaf)] }
        return try ChildProcess(argv + extra)
    }

    /// `openssl s_server -Verify 1 -verify_return_error -tls1_3 -alpn meshgate/1` presenting `leaf`,
    /// listening on an ephemeral port; waits until it listens.
    static func server(pki: TestPKIFiles, leaf: String = "east") throws -> (ChildProcess, UInt16) {
        var lastError = ""
        for _ in 0..<3 {
            let port = try RawListener.closedPort()
            let p = try ChildProcess([
                "openssl", "s_server", "-accept", "127.0.0.1:\(port)", "-cert", pki.cert(leaf), "-cert_chain", pki.chain(leaf),
                "-key", pki.key(leaf), "-CAfile", pki.bundle, "-Verify", "1", "-verify_return_error", "-tls1_3",
                "-alpn", "meshgate/1", "-quiet",
            ])
            if waitUntil(timeout: 10, { LoopbackListeners.isListening(port: port) || !p.isRunning }), p.isRunning {
                return (p, port)
            }
            lastError = p.stderrText
            p.kill()
        }
        throw TestFailure("openssl s_server did not start: \(lastError)")
    }
}

/// HAProxy (`haproxy -db -f CONFIG`) with a generated configuration.
final class HAProxyProcess {
    let child: ChildProcess
    let configPath: String

    /// Starts HAProxy with `body` (frontends and backends; `{PORT}` is replaced with a free
    /// port, returned as `port`) and waits until it listens there.
    init(body: (_ port: UInt16) -> String) throws {
        var lastError = ""
        for _ in 0..<3 {
            let port = try RawListener.closedPort()
            let config = """
                global
                    maxconn 4096
                    nbthread 1
                defaults
                    mode tcp
                    timeout connect 5s
                    timeout client 60s
                    timeout server 60s

                """ + body(port)
            let path = NSTemporaryDirectory() + "meshgate-haproxy-\(UUID().uuidString).cfg"
            try config.write(toFile: path, atomically: true, encoding: .utf8)
            let p = try ChildProcess(["haproxy", "-db", "-f", path])
            if waitUntil(timeout: 10, { LoopbackListeners.isListening(port: port) || !p.isRunning }), p.isRunning {
                child = p
                configPath = path
                self.port = port
                return
            }
            lastError = p.stderrText
            p.kill()
            try? FileManager.default.removeItem(atPath: path)
        }
        throw TestFailure("haproxy did not start: \(lastError)")
    }

    let port: UInt16
    var endpoint: Endpoint { Endpoint(host: "127.0.0.1", port: port) }

    deinit {
        child.kill()
        try? FileManager.default.removeItem(atPath: configPath)
    }
}

/// Listening sockets on 127.0.0.1, from /proc/net/tcp (no connection needed to find out).
enum LoopbackListeners {
    static func isListening(port: UInt16) -> Bool { ports().contains(port) }

    /// Every port listening on 127.0.0.1 now: one read of /proc/net/tcp, for callers that ask
    /// about many ports at once. The file lists every socket, TIME_WAIT ones included (often
    /// ten thousand lines after a test run), so lines are read by their fixed layout
    /// (`sl: LOCAL:PORT REMOTE:PORT ST`), without splitting them into strings.
    static func ports() -> Set<UInt16> {
        guard let bytes = procBytes("/proc/net/tcp") else { return [] }
        var out = Set<UInt16>()
        bytes.withUnsafeBufferPointer { b in
            let n = b.count
            func hex(_ c: UInt8) -> UInt16? {
                switch c {
                case 48...57: return UInt16(c - 48)
                case 65...70: return UInt16(c - 55)
                case 97...102: return UInt16(c - 87)
                default: return nil
                }
            }
            var line = 0
            while line < n {
                let base = UnsafeRawPointer(b.baseAddress!)
                let next = memchr(base + line, 10, n - line).map { UnsafeRawPointer($0) - base } ?? n
                // The colon after `sl`, then: ' ' local(8) ':' port(4) ' ' remote(8) ':' port(4) ' ' st(2).
                var c = line
                while c < next && b[c] != 58 { c += 1 }
                if c + 31 < next, b[c + 30] == 48, b[c + 31] == 65,  // st "0A": LISTEN
                    Array(b[(c + 2)...(c + 10)]) == Array("0100007F:".utf8)
                {
                    var port: UInt16 = 0
                    var ok = true
                    for i in (c + 11)...(c + 14) {
                        guard let d = hex(b[i]) else { ok = false; break }
                        port = port << 4 | d
                    }
                    if ok { out.insert(port) }
                }
                line = next + 1
            }
        }
        return out
    }

    /// The whole of a /proc file. (Foundation's `String(contentsOfFile:)` reads a file whose
    /// size says 0 only up to its first page: with thousands of sockets on the host, a listener
    /// past the first 4 KiB of /proc/net/tcp was never seen.)
    static func procText(_ path: String) -> String? {
        procBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The whole of a /proc file, as bytes.
    static func procBytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return out
    }
}

// MARK: - Waiting

/// Polls `condition` every 20 ms until it holds (true) or `timeout` seconds pass (false).
@discardableResult
func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if condition() { return true }
        if Date() >= deadline { return false }
        usleep(20_000)
    }
}

extension MeshgateProcess {
    /// Counters as integers (-1 for a missing key).
    func counters(_ names: [String]) throws -> [String: Int] {
        let s = try stats()
        var out: [String: Int] = [:]
        for n in names { out[n] = (s[n] as? NSNumber)?.intValue ?? -1 }
        return out
    }

    /// Polls counter `name` until `condition` holds on it or `timeout` passes; returns the last value.
    @discardableResult
    func waitCounter(_ name: String, timeout: Double = 10, _ condition: (Int) -> Bool) -> Int {
        var last = -1
        _ = waitUntil(timeout: timeout) {
            last = (try? counter(name)) ?? -1
            return condition(last)
        }
        return last
    }

    /// Log lines (standard error) that contain `text`.
    func logLines(containing text: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.contains(text) }
    }

    /// Refusal log lines naming `reason` (the `tls_refused_<reason>` key), e.g.
    /// `loop 0: TLS handshake with client refused (unknown_ca): …`.
    func refusalLogLines(reason: String) -> [Substring] {
        logLines(containing: "refused (\(reason))")
    }
}

// MARK: - mTLS chain

/// client → meshgate originating mTLS (west) → meshgate terminating mTLS (east, allows west) → `upstream`.
struct TLSChain {
    let originator: MeshgateProcess
    let terminator: MeshgateProcess
    /// Where clients connect (the originator's listener).
    let entry: Endpoint
    /// The terminator's (mTLS) listener.
    let terminatorEndpoint: Endpoint

    init(upstream: Endpoint, backend: String, pki: TestPKIFiles, originatorExtra: [String] = [], terminatorExtra: [String] = []) throws {
        let (t, tEndpoint) = try MeshgateProcess.proxy(
            upstreams: [upstream], backend: backend,
            extra: pki.terminateFlags(allow: [pki.westIdentity]) + terminatorExtra)
        let (o, oEndpoint) = try MeshgateProcess.proxy(
            upstreams: [tEndpoint], backend: backend, extra: pki.originateFlags() + originatorExtra)
        originator = o
        terminator = t
        entry = oEndpoint
        terminatorEndpoint = tEndpoint
    }

    /// Both processes' logs, for failure messages.
    var logs: String { "originator:\n\(originator.stderr.suffix(3000))\nterminator:\n\(terminator.stderr.suffix(3000))" }
}

// MARK: - A long-lived good stream

/// An echo stream that runs alongside refusals: it exchanges 32 KiB chunks (write, read the
/// echo back) on its own thread until `finish()`, which half-closes and checks that what came
/// back is byte for byte what was sent (SHA-256) and that the stream ends with a clean EOF.
final class GoodStream: @unchecked Sendable {
    static let chunk = 32 * 1024
    let fd: Int32
    private var sendStream: PatternStream
    private var sent = SHA256Hasher()
    private var got = SHA256Hasher()
    private let lock = NSLock()
    private var echoed = 0
    private var failure: String?
    private var stopRequested = false
    private let stopped = DispatchSemaphore(value: 0)
    private var started = false

    /// Connects and completes one exchange (so the stream is known to flow end to end).
    init(_ endpoint: Endpoint, seed: UInt64 = 0x600D_5EED) throws {
        sendStream = PatternStream(seed: seed)
        fd = try TestClient.connect(endpoint)
        do { try exchange() } catch {
            close(fd)
            throw error
        }
    }

    /// Connects, retrying (up to `attempts`) while the first exchange fails, e.g. because the
    /// connection went to an upstream that refuses it.
    static func connect(_ endpoint: Endpoint, attempts: Int, seed: UInt64 = 0x600D_5EED) throws -> (GoodStream, failedAttempts: Int) {
        var errors: [String] = []
        for _ in 0..<attempts {
            do { return (try GoodStream(endpoint, seed: seed), errors.count) } catch { errors.append("\(error)") }
        }
        throw TestFailure("no good stream after \(attempts) attempts: \(errors)")
    }

    private func exchange() throws {
        var chunk = [UInt8](repeating: 0, count: Self.chunk)
        chunk.withUnsafeMutableBytes { sendStream.fill($0) }
        sent.update(bytes: chunk)
        try TestClient.writeAll(fd: fd, bytes: chunk, timeout: .seconds(10))
        let back = TestClient.read(fd: fd, count: Self.chunk, timeout: .seconds(10))
        got.update(bytes: back)
        lock.lock()
        echoed += back.count
        lock.unlock()
        guard back.count == Self.chunk else {
            throw TestFailure("good stream: \(back.count) of \(Self.chunk) bytes echoed after \(progress) bytes")
        }
    }

    /// Starts exchanging chunks on a background thread (about one every 5 ms).
    func start() {
        started = true
        Thread {
            while true {
                self.lock.lock()
                let stop = self.stopRequested
                self.lock.unlock()
                if stop { break }
                do { try self.exchange() } catch {
                    self.lock.lock()
                    self.failure = "\(error)"
                    self.lock.unlock()
                    break
                }
                usleep(5_000)
            }
            self.stopped.signal()
        }.start()
    }

    /// Bytes echoed so far.
    var progress: Int {
        lock.lock()
        defer { lock.unlock() }
        return echoed
    }

    /// Waits until more than `bytes` have been echoed.
    func waitProgress(beyond bytes: Int, timeout: Double = 10) -> Bool {
        waitUntil(timeout: timeout) { self.progress > bytes }
    }

    /// Stops the exchanges, half-closes and reads to EOF. Returns nil when the stream is intact
    /// (every byte echoed, same SHA-256, clean EOF), else what went wrong.
    func finish() -> String? {
        if started {
            lock.lock()
            stopRequested = true
            lock.unlock()
            if stopped.wait(timeout: .now() + 30) == .timedOut { return "good stream: the exchange thread did not stop" }
            started = false
        }
        if let failure { return failure }
        TestClient.shutdownWrite(fd: fd)
        let (outcome, _) = TestClient.readAll(fd: fd, timeout: .seconds(10))
        guard outcome == .eof(bytes: 0) else { return "good stream: ended with \(outcome) instead of a clean EOF after \(progress) bytes" }
        let s = sent.finalize()
        let g = got.finalize()
        guard s == g else { return "good stream: SHA-256 mismatch over \(progress) bytes (sent \(s.prefix(12)), got \(g.prefix(12)))" }
        return nil
    }

    deinit {
        if started {
            lock.lock()
            stopRequested = true
            lock.unlock()
            _ = stopped.wait(timeout: .now() + 30)
        }
        close(fd)
    }
}

// MARK: - Byte helpers

extension Array where Element == UInt8 {
    /// `count` bytes of `PatternStream(seed:)`.
    static func pattern(seed: UInt64, count: Int) -> [UInt8] { PatternStream.bytes(seed: seed, count: count) }
}

/// SHA-256 hex of `data`.
func sha256(_ data: Data) -> String { SHA256Hasher.hash(data) }
func sha256(_ bytes: [UInt8]) -> String { SHA256Hasher.hash(bytes) }

/// Sends `bytes` on `fd` on a background thread while the caller reads; returns when both are
/// done: the SHA-256 of what came back and how the read ended (`count` bytes expected, then
/// the read stops; it does not wait for EOF).
func echoExchange(fd: Int32, bytes: [UInt8], timeout: Duration = .seconds(30)) -> (sha256: String, received: Int, writeError: String?) {
    let done = DispatchSemaphore(value: 0)
    let box = LockedBox<String?>(nil)
    Thread {
        do { try TestClient.writeAll(fd: fd, bytes: bytes, timeout: timeout) } catch { box.value = "\(error)" }
        done.signal()
    }.start()
    let back = TestClient.read(fd: fd, count: bytes.count, timeout: timeout)
    _ = done.wait(timeout: .now() + 60)
    return (sha256(back), back.count, box.value)
}

/// A value shared between threads under a lock.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var v: T
    init(_ v: T) { self.v = v }
    var value: T {
        get { lock.lock(); defer { lock.unlock() }; return v }
        set { lock.lock(); v = newValue; lock.unlock() }
    }
}
