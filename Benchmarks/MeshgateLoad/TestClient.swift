#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim  // SHUT_WR: in whole-module (release) builds glibc's macro resolves only with the shim imported

/// Simple blocking-style socket helpers for tests. Every call is bounded by a timeout.
public enum TestClient {
    /// How a `readAll` ended.
    public enum ReadOutcome: Sendable, Equatable {
        /// The peer closed its write side after this many bytes.
        case eof(bytes: Int)
        /// The connection was reset (ECONNRESET) after this many bytes.
        case reset(bytes: Int)
        /// The timeout passed after this many bytes.
        case timeout(bytes: Int)

        /// The bytes read before the outcome.
        public var bytes: Int {
            switch self {
            case .eof(let n), .reset(let n), .timeout(let n): return n
            }
        }
    }

    /// Connects to `e` within `timeout` and returns a blocking file descriptor (the caller closes it).
    public static func connect(_ e: Endpoint, timeout: Duration = .seconds(5)) throws -> Int32 {
        let address = try SocketAddress(resolving: e)
        let fd = try Socket.connectNonblocking(address)
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let deadline = MonotonicTime.now() + timeout.nanoseconds
        while true {
            let rc = poll(&pfd, 1, MonotonicTime.millisUntil(deadline))
            if rc > 0 { break }
            if rc < 0, errno == EINTR { continue }
            if rc < 0 {
                let error = LoadError.lastErrno("poll")
                close(fd)
                throw error
            }
            if MonotonicTime.now() >= deadline {
                close(fd)
                throw LoadError.timedOut("connect to \(e)")
            }
        }
        let err = Socket.pendingError(fd)
        if err != 0 {
            close(fd)
            throw LoadError.system(call: "connect \(e)", errno: err)
        }
        Socket.setBlocking(fd, true)
        return fd
    }

    /// Waits until `fd` is ready for `events` or `deadline` passes; false on timeout.
    static func waitReady(_ fd: Int32, events: Int16, deadline: UInt64) -> Bool {
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let ms = MonotonicTime.millisUntil(deadline)
            let rc = poll(&pfd, 1, ms)
            if rc > 0 { return true }
            if rc < 0, errno == EINTR { continue }
            if rc < 0 || MonotonicTime.now() >= deadline { return false }
        }
    }

    /// Reads until EOF, a reset (ECONNRESET, or any other receive error) or `timeout`, and returns how it
    /// ended with the SHA-256 of what arrived.
    public static func readAll(fd: Int32, timeout: Duration) -> (ReadOutcome, sha256: String) {
        let deadline = MonotonicTime.now() + timeout.nanoseconds
        var hasher = SHA256Hasher()
        var total = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            guard waitReady(fd, events: Int16(POLLIN), deadline: deadline) else {
                return (.timeout(bytes: total), hasher.finalize())
            }
            switch Socket.receive(fd, into: buffer) {
            case .bytes(let n):
                total += n
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            case .wouldBlock:
                continue
            case .eof:
                return (.eof(bytes: total), hasher.finalize())
            case .failed:
                // ECONNRESET in practice; any other receive error also ends the stream abnormally.
                return (.reset(bytes: total), hasher.finalize())
            }
        }
    }

    /// Reads exactly `count` bytes (or fewer on EOF, reset or timeout) and returns them.
    public static func read(fd: Int32, count: Int, timeout: Duration = .seconds(5)) -> [UInt8] {
        let deadline = MonotonicTime.now() + timeout.nanoseconds
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            guard waitReady(fd, events: Int16(POLLIN), deadline: deadline) else { break }
            let step = out.withUnsafeMutableBytes { Socket.receive(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[got...])) }
            switch step {
            case .bytes(let n): got += n
            case .wouldBlock: continue
            case .eof, .failed: return Array(out[0..<got])
            }
        }
        return Array(out[0..<got])
    }

    /// Writes `count` bytes of `PatternStream(seed:)` and returns their SHA-256 (hex).
    /// Throws on a send error (e.g. a reset) or when the peer does not take the bytes within `timeout`.
    @discardableResult
    public static func writeAll(fd: Int32, pattern seed: UInt64, count: Int, timeout: Duration = .seconds(30)) throws -> String {
        let deadline = MonotonicTime.now() + timeout.nanoseconds
        return try PatternStream.hashChunks(seed: seed, count: count) { chunk in
            try writeAll(fd: fd, bytes: chunk, deadline: deadline)
        }
    }

    /// Writes all of `bytes` within `timeout`.
    public static func writeAll(fd: Int32, bytes: [UInt8], timeout: Duration = .seconds(30)) throws {
        let deadline = MonotonicTime.now() + timeout.nanoseconds
        try bytes.withUnsafeBytes { try writeAll(fd: fd, bytes: $0, deadline: deadline) }
    }

    static func writeAll(fd: Int32, bytes: UnsafeRawBufferPointer, deadline: UInt64) throws {
        var offset = 0
        while offset < bytes.count {
            switch Socket.send(fd, UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
            case .bytes(let n):
                offset += n
            case .wouldBlock, .eof:
                if !waitReady(fd, events: Int16(POLLOUT), deadline: deadline) {
                    throw LoadError.timedOut("write (\(offset) of \(bytes.count) bytes of this chunk taken)")
                }
            case .failed(let e):
                throw LoadError.system(call: "send", errno: e)
            }
        }
    }

    /// Shuts down the write side of `fd` (sends FIN).
    public static func shutdownWrite(fd: Int32) {
        _ = shutdown(fd, Int32(SHUT_WR))
    }

    /// Closes `fd` with `SO_LINGER {1, 0}` so the peer sees a reset.
    public static func closeWithReset(fd: Int32) {
        Socket.closeWithReset(fd)
    }
}
