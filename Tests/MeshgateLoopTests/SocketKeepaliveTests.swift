#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import MeshgateLoop

/// `Socket.setKeepalive` arms the kernel's probes and the user timeout on a TCP socket, and
/// `clearKeepalive` takes both away again (what a pooled connection has while it waits, and
/// loses when a client adopts it).
@Suite struct SocketKeepaliveTests {
    static func option(_ fd: Int32, _ level: Int32, _ name: Int32) -> Int32 {
        var v: Int32 = -1
        var len = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &v, &len) == 0 ? v : -1
    }

    @Test func setThenClear() throws {
        let fd = try Socket.makeStream(family: AF_INET).get()
        defer { Socket.close(fd) }
        let tcp = Int32(IPPROTO_TCP)
        #expect(Self.option(fd, SOL_SOCKET, SO_KEEPALIVE) == 0, "a new socket has no keepalive")
        Socket.setKeepalive(fd, idle: 7, interval: 3, probes: 4, userTimeoutMilliseconds: 12_000)
        #expect(Self.option(fd, SOL_SOCKET, SO_KEEPALIVE) == 1)
        #expect(Self.option(fd, tcp, TCP_KEEPIDLE) == 7)
        #expect(Self.option(fd, tcp, TCP_KEEPINTVL) == 3)
        #expect(Self.option(fd, tcp, TCP_KEEPCNT) == 4)
        #expect(Self.option(fd, tcp, TCP_USER_TIMEOUT) == 12_000)
        Socket.clearKeepalive(fd)
        #expect(Self.option(fd, SOL_SOCKET, SO_KEEPALIVE) == 0)
        #expect(Self.option(fd, tcp, TCP_USER_TIMEOUT) == 0)
    }
}
