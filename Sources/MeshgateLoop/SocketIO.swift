#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim

/// The I/O funnel: every non-blocking data call of the data plane — `recv`, `send`, `readv`,
/// `splice` — goes through here and comes back as an `IOResult`, with EINTR retried in this
/// one place. Callers above MeshgateLoop never read `errno` for these calls.
public enum SocketIO {
    /// `recv(fd, into, count, flags)`.
    @inlinable
    public static func recv(_ fd: Int32, into buffer: UnsafeMutableRawPointer?, count: Int, flags: Int32 = 0) -> IOResult {
        while true {
            let n = Glibc.recv(fd, buffer, count, flags)
            if n < 0 && errno == EINTR { continue }
            return IOResult(returned: n, errno: n < 0 ? errno : 0)
        }
    }

    /// `send(fd, bytes, count, MSG_NOSIGNAL)`: a closed peer is `failed(EPIPE)`, never SIGPIPE.
    @inlinable
    public static func send(_ fd: Int32, _ bytes: UnsafeRawPointer?, count: Int) -> IOResult {
        while true {
            let n = Glibc.send(fd, bytes, count, Int32(MSG_NOSIGNAL))
            if n < 0 && errno == EINTR { continue }
            return IOResult(returned: n, errno: n < 0 ? errno : 0)
        }
    }

    /// `readv(fd, iov, count)`.
    @inlinable
    public static func readv(_ fd: Int32, _ iov: UnsafePointer<iovec>, count: Int32) -> IOResult {
        while true {
            let n = Glibc.readv(fd, iov, count)
            if n < 0 && errno == EINTR { continue }
            return IOResult(returned: n, errno: n < 0 ? errno : 0)
        }
    }

    /// `splice(from, to, count, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)` between a socket and a pipe.
    @inlinable
    public static func splice(from source: Int32, to destination: Int32, count: Int) -> IOResult {
        while true {
            let n = mg_splice(source, destination, count, mg_SPLICE_F_MOVE | mg_SPLICE_F_NONBLOCK)
            if n < 0 && errno == EINTR { continue }
            return IOResult(returned: n, errno: n < 0 ? errno : 0)
        }
    }
}

/// The funnel for owned descriptors: the same calls, taking `Descriptor`s.
extension SocketIO {
    /// `recv` from an owned descriptor.
    @inlinable
    public static func recv(_ fd: Descriptor, into buffer: UnsafeMutableRawPointer?, count: Int, flags: Int32 = 0) -> IOResult {
        recv(fd.raw, into: buffer, count: count, flags: flags)
    }

    /// `send` to an owned descriptor.
    @inlinable
    public static func send(_ fd: Descriptor, _ bytes: UnsafeRawPointer?, count: Int) -> IOResult {
        send(fd.raw, bytes, count: count)
    }

    /// `readv` from an owned descriptor.
    @inlinable
    public static func readv(_ fd: Descriptor, _ iov: UnsafePointer<iovec>, count: Int32) -> IOResult {
        readv(fd.raw, iov, count: count)
    }

    /// `splice` between owned descriptors (a socket and a pipe end).
    @inlinable
    public static func splice(from source: Descriptor, to destination: Descriptor, count: Int) -> IOResult {
        splice(from: source.raw, to: destination.raw, count: count)
    }
}
