#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim

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
    static var input: UInt32 { Epoll.input | Epoll.readHangUp }
    static var output: UInt32 { Epoll.output }

    private let epfd: Int32
    private let capacity: Int
    private let tokens: UnsafeMutablePointer<UInt64>
    private let eventBits: UnsafeMutablePointer<UInt32>

    /// A new epoll instance (close-on-exec) returning at most `capacity` events per wait
    /// (and never more than `Epoll.maxEventsPerWait`, the shim's limit).
    init(capacity: Int = Epoll.maxEventsPerWait) throws {
        epfd = mg_epoll_create()
        if epfd < 0 { throw LoadError.lastErrno("epoll_create1") }
        self.capacity = max(1, min(capacity, Epoll.maxEventsPerWait))
        tokens = .allocate(capacity: self.capacity)
        eventBits = .allocate(capacity: self.capacity)
    }

    deinit {
        close(epfd)
        tokens.deallocate()
        eventBits.deallocate()
    }

    /// Watches `fd` for `events`, reporting `token`.
    func add(_ fd: Int32, events: UInt32, token: UInt64) throws {
        if mg_epoll_ctl(epfd, Epoll.ctlAdd, fd, events, token) != 0 { throw LoadError.lastErrno("epoll_ctl(ADD)") }
    }

    /// Changes the events watched on `fd`.
    func modify(_ fd: Int32, events: UInt32, token: UInt64) {
        _ = mg_epoll_ctl(epfd, Epoll.ctlModify, fd, events, token)
    }

    /// Stops watching `fd` (closing it does so too).
    func remove(_ fd: Int32) {
        _ = mg_epoll_ctl(epfd, Epoll.ctlDelete, fd, 0, 0)
    }

    /// Waits up to `timeoutMillis` and calls `handle` for each ready descriptor.
    func wait(timeoutMillis: Int32, _ handle: (PollEvent) -> Void) {
        let count = mg_epoll_wait(epfd, tokens, eventBits, Int32(capacity), timeoutMillis)
        guard count > 0 else { return }
        for i in 0..<Int(count) {
            handle(PollEvent(token: tokens[i], events: eventBits[i]))
        }
    }
}
