#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim

/// Which I/O backend runs the loops.
public enum IOBackendKind: String, Sendable, CaseIterable, CustomStringConvertible {
    case uring
    case epoll

    public var description: String { rawValue }
}

/// The `--io-backend` choice: a backend, or `auto` (io_uring when the kernel allows it).
public enum IOBackendChoice: String, Sendable, CaseIterable {
    case uring
    case epoll
    case auto

    /// Decides which backend runs. `auto` picks io_uring unless setting up a ring fails
    /// (ENOSYS: no io_uring; EPERM: blocked by seccomp or `kernel.io_uring_disabled`; and any
    /// other failure), and says why in `reason`.
    public func resolve() -> (kind: IOBackendKind, reason: String) {
        switch self {
        case .uring: return (.uring, "requested")
        case .epoll: return (.epoll, "requested")
        case .auto:
            let rc = mg_uring_probe_errno()
            if rc == 0 { return (.uring, "io_uring is available") }
            let why = Errno(rawValue: -rc)
            switch -rc {
            case ENOSYS: return (.epoll, "io_uring is not available in this kernel (ENOSYS)")
            case EPERM: return (.epoll, "io_uring is blocked (EPERM: seccomp profile or kernel.io_uring_disabled)")
            default: return (.epoll, "io_uring setup failed: \(why)")
            }
        }
    }
}

extension IOBackendKind {
    /// Creates a backend of this kind on the calling thread (which then owns it).
    public func makeBackend() throws -> any EventBackend {
        switch self {
        case .uring: return try UringBackend()
        case .epoll: return try EpollBackend()
        }
    }
}
