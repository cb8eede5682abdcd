#if canImport(Glibc)
import Glibc
#endif

/// A nonblocking pipe another thread writes to, to wake an engine thread out of `epoll_wait`.
final class Waker {
    /// The read end, watched by the engine thread.
    let fd: Int32
    private let writeFD: Int32

    init() throws {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { throw LoadError.lastErrno("pipe") }
        for f in fds {
            _ = fcntl(f, F_SETFL, fcntl(f, F_GETFL) | O_NONBLOCK)
            _ = fcntl(f, F_SETFD, FD_CLOEXEC)
        }
        fd = fds[0]
        writeFD = fds[1]
    }

    deinit {
        close(fd)
        close(writeFD)
    }

    /// Wakes the thread polling this pipe.
    func wake() {
        var one: UInt8 = 1
        _ = write(writeFD, &one, 1)
    }

    /// Clears pending wake-ups.
    func drain() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while read(fd, &bytes, 64) > 0 {}
    }
}
