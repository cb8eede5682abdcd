#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MeshgateTestKit

/// A small HTTP/1.1 server on 127.0.0.1 (an ephemeral port): every request gets `200 OK` and
/// `hello from <cluster> (default/web, backend 127.0.0.1:<port>, request #<n>)`, then the
/// connection closes. One thread accepts, one thread per connection answers.
final class DemoWebBackend: @unchecked Sendable {
    let cluster: String
    let port: UInt16
    private let fd: Int32
    private let served = LockedBox(0)
    private var acceptor: DemoLoopThread!

    init(cluster: String) throws {
        self.cluster = cluster
        let fd = LoopbackPorts.tcpSocket()
        guard fd >= 0 else { throw DemoFailure("socket: \(String(cString: strerror(errno)))") }
        let bound = LoopbackPorts.bind(fd, port: 0)
        // Non-blocking, so that accept never waits (it runs under the spawn lock).
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        guard bound == 0, listen(fd, 128) == 0, let port = LoopbackPorts.boundPort(fd) else {
            let e = errno
            close(fd)
            throw DemoFailure("the web backend of \(cluster) cannot listen on 127.0.0.1: \(String(cString: strerror(e)))")
        }
        self.fd = fd
        self.port = port
        acceptor = DemoLoopThread { [self] in acceptOne() }
    }

    /// Requests answered so far.
    var requests: Int { served.value }

    /// Waits (≤ 200 ms) for a connection and hands it to a thread of its own.
    private func acceptOne() {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 200) > 0 else { return }
        // accept(2) and close-on-exec under the spawn lock: no child spawned meanwhile can
        // inherit the connection (glibc's accept4 is not visible from Swift).
        let client = LoggedProcess.withSpawnLock { () -> Int32 in
            let c = accept(fd, nil, nil)
            if c >= 0 { _ = fcntl(c, F_SETFD, FD_CLOEXEC) }
            return c
        }
        if client < 0 { return }
        Thread { [self] in answer(client) }.start()
    }

    private func answer(_ client: Int32) {
        defer { close(client) }
        DemoSockets.setTimeouts(client, seconds: 5)
        var request: [UInt8] = []
        while request.firstRange(of: [13, 10, 13, 10]) == nil && request.count < 64 << 10 {
            if DemoSockets.receive(client, into: &request, limit: 4096) <= 0 { return }
        }
        var number = 0
        served.modify {
            $0 += 1
            number = $0
        }
        let body = "hello from \(cluster) (default/web, backend 127.0.0.1:\(port), request #\(number))\n"
        let response =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        _ = DemoSockets.writeAll(client, Array(response.utf8))
        shutdown(client, Int32(SHUT_WR))
        // Let the client read to the end before the close (no reset of unread bytes).
        _ = DemoSockets.receive(client, into: &request, limit: 4096)
    }

    /// Stops accepting (≤ 2 s for the accept thread) and closes the listener.
    func stop() {
        guard acceptor.stop(timeout: 2) else { return }
        close(fd)
    }
}
