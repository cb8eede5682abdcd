import MeshgateLoop
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

/// Plain sockets to and on 127.0.0.1 for the tests, addressed with the loops' own `SocketAddress`.
enum LoopbackSocket {
    /// 127.0.0.1:`port`.
    static func address(_ port: UInt16) throws -> SocketAddress {
        try SocketAddress.resolve(host: "127.0.0.1", port: port)
    }

    /// `connect(2)` of `fd` to 127.0.0.1:`port`: 0, or -1 with `errno` set.
    static func connect(_ fd: Int32, port: UInt16) throws -> Int32 {
        try address(port).withSockAddr { Glibc.connect(fd, $0, $1) }
    }

    /// `bind(2)` of `fd` to 127.0.0.1:`port` (0: an ephemeral port): 0, or -1 with `errno` set.
    static func bind(_ fd: Int32, port: UInt16) throws -> Int32 {
        try address(port).withSockAddr { Glibc.bind(fd, $0, $1) }
    }

    /// A new blocking TCP socket connected to 127.0.0.1:`port`.
    static func blockingConnect(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
        guard try connect(fd, port: port) == 0 else {
            let e = errno
            close(fd)
            throw TestFailure("connect 127.0.0.1:\(port): \(String(cString: strerror(e)))")
        }
        return fd
    }
}
