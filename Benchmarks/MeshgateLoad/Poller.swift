#if canImport(Glibc)
import Glibc
#endif

/// One readiness event from `Poller.wait`.
struct PollEvent {
    /// The token registered with the file descriptor.
    var token: UInt64
    /// The epoll event bits.
    var events: UInt32

    var readable: Bool { events & (Epoll.input | Epoll.hangUp | Epoll.error | Epoll.readHangUp) != 0 }
    var writable: Bool { events & (Epoll.output | Epoll.hangUp | Epoll.error) != 0 }
    var failed: Bool { events & Epoll.error != 0 }
}

/// A level-triggered epoll instance owned by one engine thread.
final class Poller {
    static let input = Epoll.input | Epoll.readHangUp
    static let output = Epoll.output

    private let epfd: Int32
    private let capacity: Int
    private let buffer: UnsafeMutableRawPointer

    /// A new epoll instance returning at most `capacity` events per wait.
    init(capacity: Int = 1024) throws {
        epfd = Epoll.create1(Epoll.closeOnExec)
        if epfd < 0 { throw LoadError.lastErrno("epoll_create1") }
        self.capacity = capacity
        buffer = .allocate(byteCount: capacity * Epoll.eventSize, alignment: 8)
    }

    deinit {
        close(epfd)
        buffer.deallocate()
    }

    private func control(_ op: Int32, _ fd: Int32, _ events: UInt32, _ token: UInt64) -> Int32 {
        var raw = (UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &raw) { p in
            Epoll.store(events: events, data: token, at: p.baseAddress!)
            return Epoll.ctl(epfd, op, fd, p.baseAddress)
        }
    }

    /// Watches `fd` for `events`, reporting `token`.
    func add(_ fd: Int32, events: UInt32, token: UInt64) throws {
        if control(Epoll.ctlAdd, fd, events, token) != 0 { throw LoadError.lastErrno("epoll_ctl(ADD)") }
    }

    /// Changes the events watched on `fd`.
    func modify(_ fd: Int32, events: UInt32, token: UInt64) {
        _ = control(Epoll.ctlModify, fd, events, token)
    }

    /// Stops watching `fd` (closing it does so too).
    func remove(_ fd: Int32) {
        _ = control(Epoll.ctlDelete, fd, 0, 0)
    }

    /// Waits up to `timeoutMillis` and calls `handle` for each ready descriptor.
    func wait(timeoutMillis: Int32, _ handle: (PollEvent) -> Void) {
        let count = Epoll.wait(epfd, buffer, Int32(capacity), timeoutMillis)
        guard count > 0 else { return }
        for i in 0..<Int(count) {
            let (events, data) = Epoll.load(at: buffer + i * Epoll.eventSize)
            handle(PollEvent(token: data, events: events))
        }
    }
}
