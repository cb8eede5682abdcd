#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim

/// Socket helpers the loops use. All sockets are non-blocking and close-on-exec.
public enum Socket {
    /// Opens a listening TCP socket on `address` with SO_REUSEADDR and, when `reusePort`,
    /// SO_REUSEPORT so each loop can own one listener on the same port.
    public static func listen(on address: SocketAddress, reusePort: Bool, backlog: Int32 = 4096) throws -> Int32 {
        let fd = try Syscall.check("socket") { socket(address.family, mg_SOCK_STREAM | mg_SOCK_NONBLOCK | mg_SOCK_CLOEXEC, 0) }
        do {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR")
            if reusePort { try setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT") }
            if address.family == AF_INET6 { try? setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1, "IPV6_V6ONLY") }
            _ = try address.withSockAddr { sa, len in try Syscall.check("bind \(address)") { bind(fd, sa, len) } }
            try Syscall.check("listen") { Glibc.listen(fd, backlog) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// The local address a socket is bound to (e.g. to learn an ephemeral port).
    public static func localAddress(_ fd: Int32) throws -> SocketAddress {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { p in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                try Syscall.check("getsockname") { getsockname(fd, sa, &len) }
            }
        }
        return withUnsafeBytes(of: storage) { SocketAddress(raw: $0.baseAddress!, length: len) }
    }

    /// A new non-blocking TCP socket for `family`, or the errno (EMFILE and friends are expected).
    public static func makeStream(family: Int32) -> Result<Int32, Errno> {
        let fd = socket(family, mg_SOCK_STREAM | mg_SOCK_NONBLOCK | mg_SOCK_CLOEXEC, 0)
        return fd >= 0 ? .success(fd) : .failure(.current)
    }

    /// Sets an integer socket option.
    public static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32, _ label: String) throws {
        var v = value
        try Syscall.check("setsockopt \(label)") {
            setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Disables Nagle's algorithm; a proxy must not add latency to small writes.
    @inline(__always)
    public static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Sends what TCP holds back now (setting TCP_NODELAY pushes pending frames, even corked
    /// or "more to come" ones).
    @inline(__always)
    public static func pushPendingFrames(_ fd: Int32) {
        setNoDelay(fd)
    }

    /// Arms SO_LINGER {on, 0} so that the next close sends a reset instead of a FIN.
    @inline(__always)
    public static func armReset(_ fd: Int32) {
        var l = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
    }

    /// Half-closes the write side (sends FIN).
    @inline(__always)
    public static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// The pending socket error (SO_ERROR), 0 when none.
    public static func pendingError(_ fd: Int32) -> Int32 {
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 { return errno }
        return err
    }

    /// Probes an idle connection: after `idle` seconds without traffic, a keepalive probe every
    /// `interval` seconds, `probes` of them; and data or probes unacknowledged for
    /// `userTimeoutMilliseconds` (TCP_USER_TIMEOUT) abort the connection. A path that went
    /// silent then fails the socket with ETIMEDOUT instead of holding it for the minutes of
    /// TCP's retransmissions.
    public static func setKeepalive(_ fd: Int32, idle: Int32, interval: Int32, probes: Int32, userTimeoutMilliseconds: Int32) {
        setIntOption(fd, SOL_SOCKET, SO_KEEPALIVE, 1)
        setIntOption(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, idle)
        setIntOption(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, interval)
        setIntOption(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, probes)
        setIntOption(fd, Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, userTimeoutMilliseconds)
    }

    /// Undoes ``setKeepalive(_:idle:interval:probes:userTimeoutMilliseconds:)``: no probes, and
    /// TCP's own retransmission limits again.
    public static func clearKeepalive(_ fd: Int32) {
        setIntOption(fd, SOL_SOCKET, SO_KEEPALIVE, 0)
        setIntOption(fd, Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, 0)
    }

    @inline(__always)
    private static func setIntOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
        var v = value
        _ = setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
    }

    /// The lowest free descriptor number now (a probe: an eventfd opened and closed again), or
    /// nil when there is none (EMFILE/ENFILE).
    public static func lowestFreeDescriptor() -> Int32? {
        let fd = mg_eventfd()
        guard fd >= 0 else { return nil }
        Glibc.close(fd)
        return fd
    }

    /// What poll(2) reports for `fd` now, without waiting (`POLLIN`, `POLLOUT`, `POLLERR`,
    /// `POLLHUP`, `POLLRDHUP` bits), 0 when nothing or on error. Reads nothing.
    public static func pollNow(_ fd: Int32) -> Int16 {
        var p = pollfd(fd: fd, events: Int16(POLLIN | POLLOUT) | 0x2000, revents: 0)
        return Glibc.poll(&p, 1, 0) > 0 ? p.revents : 0
    }

    /// Closes a descriptor, ignoring EINTR (Linux always releases the descriptor).
    @inline(__always)
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }
}
