#if canImport(Glibc)
import Glibc
#endif

/// A resolved socket address (IPv4 or IPv6), ready for `connect` or `bind`.
struct SocketAddress {
    var storage = sockaddr_storage()
    var length: socklen_t = 0

    /// The address family, `AF_INET` or `AF_INET6`.
    var family: Int32 { Int32(storage.ss_family) }

    /// Resolves `endpoint` (numeric addresses directly, names via getaddrinfo; the first result wins).
    init(resolving endpoint: Endpoint) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG
        var result: UnsafeMutablePointer<addrinfo>?
        var rc = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &result)
        if rc != 0 {
            // AI_ADDRCONFIG hides loopback-only families on hosts without other interfaces; retry without it.
            hints.ai_flags = AI_NUMERICSERV
            rc = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &result)
        }
        guard rc == 0, let first = result else {
            throw LoadError.unresolvable(host: endpoint.host, reason: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(result) }
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        length = first.pointee.ai_addrlen
    }

    /// The local address of a bound socket.
    init(localOf fd: Int32) throws {
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        if rc != 0 { throw LoadError.lastErrno("getsockname") }
    }

    /// The port in host byte order.
    var port: UInt16 {
        withUnsafeBytes(of: storage) { raw in
            // sin_port and sin6_port sit at the same offset, right after the family.
            UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self))
        }
    }

    /// Calls `body` with the address as a `sockaddr` pointer and its length.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
