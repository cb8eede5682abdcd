#if canImport(Glibc)
import Glibc
#endif
import Foundation

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
