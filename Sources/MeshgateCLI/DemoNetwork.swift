#if canImport(Glibc)
import Glibc
#endif
import Foundation

// The network pieces of `meshgate demo`: free loopback ports, the small HTTP server that plays
// each cluster's `web` service, and the clients the demo sends traffic with (HTTP GET, a few
// Redis commands), all blocking sockets with deadlines. Every socket is close-on-exec, so the
// gateways the demo spawns never inherit one.

enum DemoSockets {
    static let loopback = inet_addr("127.0.0.1")

    static func address(_ port: UInt16) -> sockaddr_in {
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = loopback
        return sin
    }

    static func tcpSocket() -> Int32 {
        socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    /// Whether 127.0.0.1:`port` can be bound now (with SO_REUSEADDR, as meshgate binds).
    static func canBind(_ port: UInt16) -> Bool {
        let fd = tcpSocket()
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var sin = address(port)
        return withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// `count` consecutive ports on 127.0.0.1 that can all be bound now, below the usual
    /// ephemeral range (so no outgoing connection's source port takes one meanwhile).
    static func freeBlock(count: Int) throws -> UInt16 {
        for _ in 0..<500 {
            let base = UInt16.random(in: 20_000...(32_000 - UInt16(count)))
            if (base..<(base + UInt16(count))).allSatisfy(canBind) { return base }
        }
        throw DemoFailure("found no \(count) consecutive free ports on 127.0.0.1 between 20000 and 32000")
    }

    /// Sets send and receive timeouts on a blocking socket.
    static func setTimeouts(_ fd: Int32, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// A connected blocking socket to 127.0.0.1:`port` (timeouts set), or the errno.
    static func connect(_ port: UInt16, timeout: Double) -> Result<Int32, Errno> {
        let fd = tcpSocket()
        guard fd >= 0 else { return .failure(Errno(errno)) }
        setTimeouts(fd, seconds: timeout)
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var sin = address(port)
        let rc = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            return .failure(Errno(e))
        }
        return .success(fd)
    }

    /// Writes all of `bytes`; false on an error.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                sent += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }

    /// An errno value, printed as its text.
    struct Errno: Error, CustomStringConvertible {
        let code: Int32
        init(_ code: Int32) { self.code = code }
        var description: String {
            switch code {
            case ECONNRESET: "connection reset"
            case ECONNREFUSED: "connection refused"
            case EAGAIN: "timed out"
            default: String(cString: strerror(code))
            }
        }
    }
}

// MARK: - The web service

/// A small HTTP/1.1 server on 127.0.0.1 (an ephemeral port): every request gets `200 OK` and
/// `hello from <cluster> (default/web, backend 127.0.0.1:<port>, request #<n>)`, then the
/// connection closes. One thread accepts, one thread per connection answers.
final class DemoWebBackend: @unchecked Sendable {
    let cluster: String
    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var served = 0
    private var stopping = false
    private let finished = DispatchGroup()

    init(cluster: String) throws {
        self.cluster = cluster
        let fd = DemoSockets.tcpSocket()
        guard fd >= 0 else { throw DemoFailure("socket: \(String(cString: strerror(errno)))") }
        var sin = DemoSockets.address(0)
        let bound = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        // Non-blocking, so that accept never waits (it runs under the spawn lock).
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        guard bound == 0, listen(fd, 128) == 0 else {
            let e = errno
            close(fd)
            throw DemoFailure("the web backend of \(cluster) cannot listen on 127.0.0.1: \(String(cString: strerror(e)))")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        port = UInt16(bigEndian: actual.sin_port)
        finished.enter()
        Thread { [self] in
            acceptLoop()
            finished.leave()
        }.start()
    }

    /// Requests answered so far.
    var requests: Int {
        lock.lock()
        defer { lock.unlock() }
        return served
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func acceptLoop() {
        while !isStopping {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 200) > 0 else { continue }
            // accept(2) and close-on-exec under the spawn lock: no child spawned meanwhile can
            // inherit the connection (glibc's accept4 is not visible from Swift).
            let client = DemoChild.withSpawnLock { () -> Int32 in
                let c = accept(fd, nil, nil)
                if c >= 0 { _ = fcntl(c, F_SETFD, FD_CLOEXEC) }
                return c
            }
            if client < 0 { continue }
            Thread { [self] in answer(client) }.start()
        }
    }

    private func answer(_ client: Int32) {
        defer { close(client) }
        DemoSockets.setTimeouts(client, seconds: 5)
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let end: [UInt8] = [13, 10, 13, 10]
        while request.firstRange(of: end) == nil && request.count < 64 << 10 {
            let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            request.append(contentsOf: chunk[0..<n])
        }
        lock.lock()
        served += 1
        let number = served
        lock.unlock()
        let body = "hello from \(cluster) (default/web, backend 127.0.0.1:\(port), request #\(number))\n"
        let response =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        _ = DemoSockets.writeAll(client, Array(response.utf8))
        shutdown(client, Int32(SHUT_WR))
        // Let the client read to the end before the close (no reset of unread bytes).
        _ = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
    }

    func stop() {
        lock.lock()
        let already = stopping
        stopping = true
        lock.unlock()
        guard !already else { return }
        _ = finished.wait(timeout: .now() + 2)
        close(fd)
    }
}

// MARK: - Clients

/// What a client connection came to.
enum DemoOutcome {
    /// An HTTP answer: status, body, bytes sent and received, seconds from connect to the end.
    case answered(status: Int, body: String, sent: Int, received: Int, seconds: Double)
    /// No answer: the connection was reset, closed, refused or timed out, after `seconds`.
    case failed(reason: String, seconds: Double)

    var ok: Bool {
        if case .answered(let status, _, _, _, _) = self { return status == 200 }
        return false
    }

    var seconds: Double {
        switch self {
        case .answered(_, _, _, _, let s), .failed(_, let s): s
        }
    }
}

enum DemoHTTP {
    /// `GET /` to 127.0.0.1:`port`, read to the end of the connection.
    static func get(_ port: UInt16, host: String, timeout: Double = 5) -> DemoOutcome {
        let start = Date()
        let fd: Int32
        switch DemoSockets.connect(port, timeout: timeout) {
        case .success(let s): fd = s
        case .failure(let e): return .failed(reason: e.description, seconds: Date().timeIntervalSince(start))
        }
        defer { close(fd) }
        let request = Array("GET / HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: meshgate-demo\r\nConnection: close\r\n\r\n".utf8)
        guard DemoSockets.writeAll(fd, request) else {
            return .failed(reason: "\(DemoSockets.Errno(errno)), no answer", seconds: Date().timeIntervalSince(start))
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received.append(contentsOf: chunk[0..<n])
                continue
            }
            if n < 0 && errno == EINTR { continue }
            let seconds = Date().timeIntervalSince(start)
            if n < 0 {
                let e = DemoSockets.Errno(errno)
                return .failed(reason: received.isEmpty ? "\(e), no answer" : "\(e) after \(received.count) bytes", seconds: seconds)
            }
            guard !received.isEmpty else { return .failed(reason: "closed, no answer", seconds: seconds) }
            guard let head = received.firstRange(of: [13, 10, 13, 10]) else {
                return .failed(reason: "not an HTTP answer (\(received.count) bytes)", seconds: seconds)
            }
            let statusLine = String(decoding: received[..<head.lowerBound], as: UTF8.self).prefix { $0 != "\r" }
            let parts = statusLine.split(separator: " ")
            let status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            let body = String(decoding: received[head.upperBound...], as: UTF8.self)
            return .answered(status: status, body: body, sent: request.count, received: received.count, seconds: seconds)
        }
    }
}

/// Just enough of RESP (the Redis protocol) for PING, SET and GET on one connection.
final class DemoRedisClient {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var sent = 0
    private(set) var received = 0

    init(port: UInt16, timeout: Double = 5) throws {
        switch DemoSockets.connect(port, timeout: timeout) {
        case .success(let s): fd = s
        case .failure(let e): throw DemoFailure("redis on 127.0.0.1:\(port): \(e)")
        }
    }

    deinit { close(fd) }

    /// Sends one command; its reply: a simple string, an error (`-ERR …`), an integer as text,
    /// or a bulk string (nil for a null bulk).
    func command(_ words: [String]) throws -> String? {
        var out = "*\(words.count)\r\n"
        for w in words { out += "$\(w.utf8.count)\r\n\(w)\r\n" }
        let bytes = Array(out.utf8)
        guard DemoSockets.writeAll(fd, bytes) else { throw DemoFailure("redis: \(DemoSockets.Errno(errno)) while sending \(words[0])") }
        sent += bytes.count
        let line = try readLine()
        guard let kind = line.first else { throw DemoFailure("redis: an empty reply to \(words[0])") }
        let rest = String(line.dropFirst())
        switch kind {
        case "+", ":": return rest
        case "-": return "-" + rest
        case "$":
            guard let length = Int(rest) else { throw DemoFailure("redis: a bad bulk length '\(rest)'") }
            if length < 0 { return nil }
            let data = try readBytes(length + 2)
            return String(decoding: data.prefix(length), as: UTF8.self)
        default:
            throw DemoFailure("redis: an unexpected reply '\(line.prefix(40))' to \(words[0])")
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            buffer.append(contentsOf: chunk[0..<n])
            received += n
        } else if n == 0 {
            throw DemoFailure("redis: the connection closed")
        } else if errno != EINTR {
            throw DemoFailure("redis: \(DemoSockets.Errno(errno))")
        }
    }

    private func readLine() throws -> String {
        while true {
            if let r = buffer.firstRange(of: [13, 10]) {
                let line = String(decoding: buffer[..<r.lowerBound], as: UTF8.self)
                buffer.removeSubrange(..<r.upperBound)
                return line
            }
            try fill()
        }
    }

    private func readBytes(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        let out = Array(buffer.prefix(count))
        buffer.removeFirst(count)
        return out
    }
}

// MARK: - Steady traffic

/// A thread sending `GET /` to one route every `interval` until stopped, counting answers and
/// failures (the east → west traffic that must not notice north's outage).
final class DemoSteadyTraffic: @unchecked Sendable {
    let port: UInt16
    private let host: String
    private let interval: Double
    private let lock = NSLock()
    private var stopping = false
    private var latencies: [Double] = []
    private var failures: [String] = []
    private let finished = DispatchGroup()

    init(port: UInt16, host: String, interval: Double = 0.05) {
        self.port = port
        self.host = host
        self.interval = interval
        finished.enter()
        Thread { [self] in
            while !isStopping {
                let outcome = DemoHTTP.get(port, host: host, timeout: 5)
                lock.lock()
                switch outcome {
                case .answered(let status, _, _, _, let s) where status == 200: latencies.append(s)
                case .answered(let status, _, _, _, _): failures.append("HTTP \(status)")
                case .failed(let reason, _): failures.append(reason)
                }
                lock.unlock()
                usleep(UInt32(interval * 1_000_000))
            }
            finished.leave()
        }.start()
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    /// Requests so far: answered and failed.
    var counts: (ok: Int, failed: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (latencies.count, failures.count)
    }

    /// Stops the thread; the answered requests' latencies (seconds) and the failures.
    func stop() -> (latencies: [Double], failures: [String]) {
        lock.lock()
        stopping = true
        lock.unlock()
        _ = finished.wait(timeout: .now() + 10)
        lock.lock()
        defer { lock.unlock() }
        return (latencies, failures)
    }
}
