#if canImport(Glibc)
import Glibc
#endif

enum GatewayPorts {
    /// `count` consecutive ports on 127.0.0.1, each bindable right now, below the ephemeral range
    /// (so that no client connection's source port lands on them while a test runs).
    static func freeBlock(count: Int) throws -> UInt16 {
        for _ in 0..<200 {
            let base = UInt16.random(in: 20_000...(32_000 - UInt16(count)))
            if (base..<(base + UInt16(count))).allSatisfy(canBind) { return base }
        }
        throw TestFailure("no block of \(count) free ports found")
    }

    /// Whether a listener could bind 127.0.0.1:`port` now (with SO_REUSEADDR, as meshgate does).
    static func canBind(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        return (try? LoopbackSocket.bind(fd, port: port)) == 0
    }

    /// Connects to 127.0.0.1:`port` and closes at once: 0 when it connected, else the errno
    /// (ECONNREFUSED when nothing listens; on loopback the answer is immediate).
    static func connectErrno(_ port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard let rc = try? LoopbackSocket.connect(fd, port: port) else { return EINVAL }
        return rc == 0 ? 0 : errno
    }
}
