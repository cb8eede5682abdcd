#if canImport(Glibc)
import Glibc
#endif
import MeshgateLoop

/// A listening socket of one outbound route, shared by all loops (each arms its own accept
/// on it). Closed when the last holder lets go: the snapshot that lists it and every loop
/// that accepts on it, so a removed route's port closes only once no loop can touch the fd.
public final class RouteListener: @unchecked Sendable {
    /// The listening socket.
    public let fd: Int32
    /// The bound address (with the real port).
    public let address: SocketAddress
    /// Whether the address was fixed by the route (else taken from the outbound port range).
    public let fixed: Bool

    init(fd: Int32, address: SocketAddress, fixed: Bool) {
        self.fd = fd
        self.address = address
        self.fixed = fixed
    }

    deinit {
        // Wake any accept still parked on it, then release the port.
        _ = shutdown(fd, Int32(SHUT_RDWR))
        Socket.close(fd)
    }
}
