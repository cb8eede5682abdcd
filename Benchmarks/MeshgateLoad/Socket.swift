#if canImport(Glibc)
import Glibc
#endif

/// The outcome of one nonblocking `recv` or `send`.
enum IOStep: Equatable {
    /// This many bytes moved (always more than 0).
    case bytes(Int)
    /// The socket is not ready (EAGAIN).
    case wouldBlock
    /// The peer closed its write side (recv only).
    case eof
    /// The call failed with this errno (ECONNRESET, EPIPE, ...).
    case failed(Int32)
}

/// Thin wrappers over the socket system calls the harness uses. Every socket is close-on-exec.
enum Socket {
    /// A new nonblocking (unless `blocking`) TCP socket of `family`.
    static func makeTCP(family: Int32, blocking: Bool = false) throws -> Int32 {
        var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if !blocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        let fd = socket(family, type, 0)
        if fd < 0 { throw LoadError.lastErrno("socket") }
        return fd
    }

    /// Starts a nonblocking connect to `address`. Returns 0 when connected or in progress, else the errno.
    static func startConnect(_ fd: Int32, to address: SocketAddress) -> Int32 {
        let rc = address.withSockaddr { connect(fd, $0, $1) }
        if rc == 0 { return 0 }
        let e = errno
        return e == EINPROGRESS ? 0 : e
    }

    /// The pending error of a socket (`SO_ERROR`): 0 when a nonblocking connect succeeded.
    static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &len) != 0 { return errno }
        return value
    }

    /// A new nonblocking socket with a connect to `address` under way (or done).
    static func connectNonblocking(_ address: SocketAddress) throws -> Int32 {
        let fd = try makeTCP(family: address.family)
        setNoDelay(fd)
        let e = startConnect(fd, to: address)
        if e != 0 {
            close(fd)
            throw LoadError.system(call: "connect", errno: e)
        }
        return fd
    }

    /// Sets `TCP_NODELAY` so small messages are not held back by Nagle's algorithm.
    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Sets an integer `SOL_SOCKET` option.
    static func setOption(_ fd: Int32, _ name: Int32, _ value: Int32) {
        var v = value
        _ = setsockopt(fd, SOL_SOCKET, name, &v, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Closes `fd` with `SO_LINGER {1, 0}`, so the peer gets a reset (RST) instead of a FIN.
    static func closeWithReset(_ fd: Int32) {
        var l = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }

    /// Sets or clears `O_NONBLOCK`.
    static func setBlocking(_ fd: Int32, _ blocking: Bool) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK)
    }

    /// One nonblocking `recv` into `buffer`.
    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOStep {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if n > 0 { return .bytes(n) }
            if n == 0 { return buffer.count == 0 ? .wouldBlock : .eof }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return .wouldBlock }
            return .failed(e)
        }
    }

    /// One nonblocking `send` of `buffer` (never raises SIGPIPE).
    static func send(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> IOStep {
        while true {
            let n = Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            if n >= 0 { return n == 0 ? .wouldBlock : .bytes(n) }
            let e = errno
            if e == EINTR { continue }
            if e == EAGAIN || e == EWOULDBLOCK { return .wouldBlock }
            return .failed(e)
        }
    }

    /// True for the errors that mean the peer reset the connection.
    static func isReset(_ e: Int32) -> Bool { e == ECONNRESET || e == EPIPE || e == ECONNABORTED }
}
