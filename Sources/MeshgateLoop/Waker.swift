#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim

/// A cross-thread wake-up for one loop: an eventfd the loop's backend waits on.
/// `wake()` is safe from any thread; everything else belongs to the loop.
public final class Waker: @unchecked Sendable {
    /// The eventfd. Written by any thread, read only by the owning loop.
    public let fd: Int32

    init() throws {
        fd = try Syscall.check("eventfd") { mg_eventfd() }
    }

    /// Wakes the loop. Never blocks: a full counter already means "wake up".
    public func wake() {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    /// Clears pending wake-ups (loop thread only).
    func drain() {
        var value: UInt64 = 0
        _ = read(fd, &value, 8)
    }

    deinit { Glibc.close(fd) }
}
