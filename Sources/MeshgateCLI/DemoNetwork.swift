#if canImport(Glibc)
import Glibc
#endif
import Foundation

// The socket helpers of `meshgate demo`: free loopback ports and blocking sockets with
// deadlines, used by the web service (`DemoWebBackend`) and the clients (`DemoHTTP`,
// `DemoRedisClient`, `DemoSteadyTraffic`). Every socket is close-on-exec, so the gateways the
// demo spawns never inherit one.

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
