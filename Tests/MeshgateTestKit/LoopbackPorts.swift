#if canImport(Glibc)
    import Glibc
#endif

/// Free TCP ports on 127.0.0.1 for loopback tests and `meshgate demo`. Every socket it opens is
/// close-on-exec, so a child spawned meanwhile never inherits one.
public enum LoopbackPorts {
    /// A port the kernel picks by binding 127.0.0.1:0 (free when this returns; in the ephemeral range).
    public static func free() throws -> UInt16 {
        let fd = tcpSocket()
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        defer { close(fd) }
        guard bind(fd, port: 0) == 0 else { throw TestFailure("bind 127.0.0.1:0: errno \(errno)") }
        guard let port = boundPort(fd) else { throw TestFailure("getsockname: errno \(errno)") }
        return port
    }

    /// The local port socket `fd` is bound to (`getsockname(2)`), nil on an error.
    public static func boundPort(_ fd: Int32) -> UInt16? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return rc == 0 ? UInt16(bigEndian: address.sin_port) : nil
    }

    /// A close-on-exec IPv4 TCP socket (-1 with `errno` set on an error).
    public static func tcpSocket() -> Int32 {
        socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    /// `count` consecutive ports on 127.0.0.1, each bindable right now, below the ephemeral range
    /// (so that no client connection's source port lands on them while a test runs): the first.
    public static func freeBlock(count: Int) throws -> UInt16 {
        for _ in 0..<500 {
            let base = UInt16.random(in: 20_000...(32_000 - UInt16(count)))
            if (base..<(base + UInt16(count))).allSatisfy(canBind) { return base }
        }
        throw TestFailure("found no \(count) consecutive free ports on 127.0.0.1 between 20000 and 32000")
    }

    /// Whether a listener could bind 127.0.0.1:`port` now (with SO_REUSEADDR, as meshgate does).
    public static func canBind(_ port: UInt16) -> Bool {
        let fd = tcpSocket()
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        return bind(fd, port: port) == 0
    }

    /// Connects to 127.0.0.1:`port` and closes at once: 0 when it connected, else the errno
    /// (ECONNREFUSED when nothing listens; on loopback the answer is immediate).
    public static func connectErrno(_ port: UInt16) -> Int32 {
        let fd = tcpSocket()
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return withLoopbackAddress(port) { Glibc.connect(fd, $0, $1) } == 0 ? 0 : errno
    }

    /// `bind(2)` of `fd` to 127.0.0.1:`port`: 0, or -1 with `errno` set.
    public static func bind(_ fd: Int32, port: UInt16) -> Int32 {
        withLoopbackAddress(port) { Glibc.bind(fd, $0, $1) }
    }

    /// Calls `body` with 127.0.0.1:`port` as a `sockaddr` and its length.
    public static func withLoopbackAddress(_ port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}
