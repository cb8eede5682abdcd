import Foundation
import MeshgateLoop
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

/// A plain blocking listener for tests that need to see exactly what a backend sees.
final class RawListener {
    let fd: Int32
    let port: UInt16

    init(backlog: Int32 = 64) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("listener: \(String(cString: strerror(errno)))") }
        guard try LoopbackSocket.bind(fd, port: 0) == 0, listen(fd, backlog) == 0, let local = try? Socket.localAddress(fd) else {
            let e = errno
            close(fd)
            throw TestFailure("listener: \(String(cString: strerror(e)))")
        }
        self.fd = fd
        self.port = local.port
    }

    /// A blocking client socket connected to 127.0.0.1:`port`.
    static func blockingConnect(port: UInt16) throws -> Int32 { try LoopbackSocket.blockingConnect(port: port) }

    /// A port on which nothing listens (bound once, then closed).
    static func closedPort() throws -> UInt16 {
        let l = try RawListener()
        return l.port
    }

    /// Waits (≤ `timeout` s) until a connection waits in the accept queue. With a backlog of 0,
    /// the queue is then full: the kernel drops further SYNs, and connects hang.
    func waitUntilQueued(timeout: Double) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, Int32(timeout * 1000)) == 1
    }

    func accept(timeout: Double) throws -> Int32 {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(timeout * 1000)) == 1 else { throw TestFailure("nothing to accept") }
        return Glibc.accept(fd, nil, nil)
    }

    deinit { close(fd) }
}
