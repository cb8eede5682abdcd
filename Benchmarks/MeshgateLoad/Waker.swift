#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim

/// A nonblocking eventfd another thread signals, to wake an engine thread out of `epoll_wait`.
final class Waker {
    /// The eventfd, watched by the engine thread.
    let fd: Int32

    init() throws {
        fd = mg_eventfd()
        if fd < 0 { throw LoadError.lastErrno("eventfd") }
    }

    deinit { close(fd) }

    /// Wakes the thread polling this eventfd.
    func wake() {
        var one: UInt64 = 1
        _ = write(fd, &one, MemoryLayout<UInt64>.size)
    }

    /// Clears pending wake-ups.
    func drain() {
        var value: UInt64 = 0
        _ = read(fd, &value, MemoryLayout<UInt64>.size)
    }
}
