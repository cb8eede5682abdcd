#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MeshgateTestKit

// The socket helpers of `meshgate demo`: blocking sockets with deadlines, used by the web
// service (`DemoWebBackend`) and the clients (`DemoHTTP`, `DemoRedisClient`,
// `DemoSteadyTraffic`). Free ports come from the test kit's `LoopbackPorts`. Every socket is
// close-on-exec, so the gateways the demo spawns never inherit one.

enum DemoSockets {
    /// Sets send and receive timeouts on a blocking socket.
    static func setTimeouts(_ fd: Int32, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// A connected blocking socket to 127.0.0.1:`port` (timeouts set), or the errno.
    static func connect(_ port: UInt16, timeout: Double) -> Result<Int32, Errno> {
        let fd = LoopbackPorts.tcpSocket()
        guard fd >= 0 else { return .failure(Errno(errno)) }
        setTimeouts(fd, seconds: timeout)
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if LoopbackPorts.withLoopbackAddress(port, { Glibc.connect(fd, $0, $1) }) != 0 {
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

    /// One `recv(2)` of at most `limit` bytes, appended to `buffer` (retried when interrupted):
    /// how many arrived, 0 at the end of the stream, or -1 with `errno` set.
    static func receive(_ fd: Int32, into buffer: inout [UInt8], limit: Int = 16 << 10) -> Int {
        var chunk = [UInt8](repeating: 0, count: limit)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { buffer.append(contentsOf: chunk[0..<n]) }
            if n < 0 && errno == EINTR { continue }
            return n
        }
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
