#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim

/// The epoll backend: the same completion interface on top of readiness, for kernels or
/// sandboxes where io_uring is missing or blocked (Docker's default seccomp, RHEL 9).
///
/// Sockets are registered edge-triggered; accepts and connects are done with system calls
/// when epoll says they can proceed; timers live in a small list checked each turn.
/// Owned by one loop thread; `waker` is the only cross-thread entry point.
public final class EpollBackend: EventBackend {
    public var kind: IOBackendKind { .epoll }
    public let waker: Waker

    private let epfd: Int32
    /// Registration state per descriptor number: 0 none, 1 registered.
    private var registered: [UInt8] = []
    /// Listeners currently accepting, by descriptor: token and how many to take per event.
    private var accepting: [Int32: (token: Token, batch: Int)] = [:]
    /// Connects in progress: token → (descriptor, deadline).
    private var connecting: [UInt64: (fd: Int32, deadline: Int64)] = [:]
    /// One-shot timers: (deadline, token).
    private var timers: [(deadline: Int64, token: Token)] = []
    /// Completions produced synchronously (immediate connects, accepts), reported at the next wait.
    private var ready: [Completion] = []
    /// The batch being reported (swapped with `ready`, so no array is allocated per turn).
    private var reporting: [Completion] = []
    /// Earliest timer or connect deadline; nothing is scanned before it.
    private var nextDeadline: Int64 = .max
    private let datas = UnsafeMutablePointer<UInt64>.allocate(capacity: 256)
    private let events = UnsafeMutablePointer<UInt32>.allocate(capacity: 256)

    private static let wakeData: UInt64 = Token(kind: .wake, slot: 0, generation: 0).raw
    /// Listener registrations carry the listener fd in the slot and this marker kind.
    private static let acceptMarker: UInt64 = 0xFF << 56

    public init() throws {
        waker = try Waker()
        epfd = try Syscall.check("epoll_create1") { mg_epoll_create() }
        try Syscall.check("epoll_ctl(eventfd)") { mg_epoll_ctl(epfd, mg_EPOLL_CTL_ADD, waker.fd, mg_EPOLLIN, Self.wakeData) }
    }

    deinit {
        Glibc.close(epfd)
        datas.deallocate()
        events.deallocate()
    }

    @inline(__always)
    private func isRegistered(_ fd: Int32) -> Bool {
        Int(fd) < registered.count && registered[Int(fd)] != 0
    }

    @inline(__always)
    private func setRegistered(_ fd: Int32, _ on: Bool) {
        if Int(fd) >= registered.count {
            registered.append(contentsOf: repeatElement(0, count: Int(fd) + 1024 - registered.count))
        }
        registered[Int(fd)] = on ? 1 : 0
    }

    public func startAccept(listener: Int32, token: Token, multishot: Bool) {
        accepting[listener] = (token, multishot ? 64 : 1)
        let data = Self.acceptMarker | UInt64(UInt32(bitPattern: listener))
        if mg_epoll_ctl(epfd, mg_EPOLL_CTL_ADD, listener, mg_EPOLLIN, data) < 0 && errno == EEXIST {
            _ = mg_epoll_ctl(epfd, mg_EPOLL_CTL_MOD, listener, mg_EPOLLIN, data)
        }
    }

    public func stopAccept(listener: Int32, token: Token) {
        if accepting.removeValue(forKey: listener) != nil {
            _ = mg_epoll_ctl(epfd, mg_EPOLL_CTL_DEL, listener, 0, 0)
            ready.append(Completion(token: token, result: -ECANCELED, more: false))
        }
    }

    public func connect(fd: Int32, address: UnsafePointer<sockaddr>, length: socklen_t, timeoutNanoseconds: Int64, token: Token) {
        var rc: Int32
        repeat { rc = Glibc.connect(fd, address, length) } while rc < 0 && errno == EINTR
        if rc == 0 {
            ready.append(Completion(token: token, result: 0))
            return
        }
        let e = errno
        guard e == EINPROGRESS else {
            ready.append(Completion(token: token, result: -e))
            return
        }
        let deadline = MonotonicClock.nanoseconds() &+ timeoutNanoseconds
        connecting[token.raw] = (fd, deadline)
        nextDeadline = min(nextDeadline, deadline)
        let mask = mg_EPOLLIN | mg_EPOLLOUT | mg_EPOLLRDHUP | mg_EPOLLET
        _ = mg_epoll_ctl(epfd, mg_EPOLL_CTL_ADD, fd, mask, token.raw)
        setRegistered(fd, true)
    }

    public func watch(fd: Int32, token: Token) {
        let mask = mg_EPOLLIN | mg_EPOLLOUT | mg_EPOLLRDHUP | mg_EPOLLET
        if isRegistered(fd) {
            _ = mg_epoll_ctl(epfd, mg_EPOLL_CTL_MOD, fd, mask, token.raw)
        } else {
            _ = mg_epoll_ctl(epfd, mg_EPOLL_CTL_ADD, fd, mask, token.raw)
            setRegistered(fd, true)
        }
    }

    public func close(fd: Int32) {
        if isRegistered(fd) { setRegistered(fd, false) }
        if !connecting.isEmpty, let key = connecting.first(where: { $0.value.fd == fd })?.key {
            connecting.removeValue(forKey: key)
        }
        Glibc.close(fd)  // also removes it from the epoll set
    }

    public func release(fd: Int32) {
        // Removed explicitly: the epoll set keeps a descriptor's file while any copy of it is open.
        if isRegistered(fd) {
            setRegistered(fd, false)
            _ = mg_epoll_ctl(epfd, mg_EPOLL_CTL_DEL, fd, 0, 0)
        }
        if !connecting.isEmpty, let key = connecting.first(where: { $0.value.fd == fd })?.key {
            connecting.removeValue(forKey: key)
        }
    }

    public func schedule(afterNanoseconds nanoseconds: Int64, token: Token) {
        let deadline = MonotonicClock.nanoseconds() &+ nanoseconds
        timers.append((deadline, token))
        nextDeadline = min(nextDeadline, deadline)
    }

    public func wait(timeoutNanoseconds: Int64?, _ body: (Completion) -> Void) throws {
        var timeoutMs: Int32
        if !ready.isEmpty {
            timeoutMs = 0
        } else {
            var limit = timeoutNanoseconds ?? Int64.max
            if nextDeadline != .max { limit = min(limit, max(0, nextDeadline - MonotonicClock.nanoseconds())) }
            timeoutMs = limit == .max ? -1 : Int32(clamping: (limit + 999_999) / 1_000_000)
        }
        let n = mg_epoll_wait(epfd, datas, events, 256, timeoutMs)
        if n < 0 && errno != EINTR { throw SystemCallError("epoll_wait", .current) }

        // Synchronous completions first, in order.
        if !ready.isEmpty {
            swap(&ready, &reporting)
            for c in reporting { body(c) }
            reporting.removeAll(keepingCapacity: true)
        }
        for i in 0..<Int(max(n, 0)) {
            let data = datas[i]
            let ev = events[i]
            if data == Self.wakeData {
                waker.drain()
                body(Completion(token: Token(raw: data), result: 0))
                continue
            }
            if data & Self.acceptMarker == Self.acceptMarker {
                acceptReady(listener: Int32(bitPattern: UInt32(truncatingIfNeeded: data)), body)
                continue
            }
            let token = Token(raw: data)
            if token.kind == .connect, let c = connecting.removeValue(forKey: data) {
                let err = Socket.pendingError(c.fd)
                body(Completion(token: token, result: -err))
                continue
            }
            var r: Readiness = []
            if ev & mg_EPOLLIN != 0 { r.insert(.readable) }
            if ev & mg_EPOLLOUT != 0 { r.insert(.writable) }
            if ev & (mg_EPOLLRDHUP | mg_EPOLLHUP) != 0 { r.insert([.hangup, .readable]) }
            if ev & mg_EPOLLERR != 0 { r.insert([.error, .readable, .writable]) }
            body(Completion(token: token, result: Int32(ev), readiness: r, more: true))
        }
        fireExpired(body)
    }

    private func acceptReady(listener: Int32, _ body: (Completion) -> Void) {
        guard let (token, batch) = accepting[listener] else { return }
        // Level-triggered: take a bounded batch, epoll reports the rest next turn.
        for _ in 0..<batch {
            let fd = mg_accept_nonblock(listener)
            if fd >= 0 {
                if batch == 1 {
                    // Single accept: done, like io_uring's one-shot accept.
                    accepting.removeValue(forKey: listener)
                    _ = mg_epoll_ctl(epfd, mg_EPOLL_CTL_DEL, listener, 0, 0)
                    body(Completion(token: token, result: fd, more: false))
                    return
                }
                body(Completion(token: token, result: fd, more: true))
                continue
            }
            let e = errno
            if e == EAGAIN || e == EINTR || e == ECONNABORTED { return }
            // A hard error (EMFILE, ENFILE, ENOBUFS…) ends accepting, like io_uring's multishot.
            accepting.removeValue(forKey: listener)
            _ = mg_epoll_ctl(epfd, mg_EPOLL_CTL_DEL, listener, 0, 0)
            body(Completion(token: token, result: -e, more: false))
            return
        }
    }

    private func fireExpired(_ body: (Completion) -> Void) {
        guard nextDeadline != .max else { return }
        let now = MonotonicClock.nanoseconds()
        guard now >= nextDeadline else { return }
        var earliest = Int64.max
        var i = 0
        while i < timers.count {
            let t = timers[i]
            if t.deadline <= now {
                timers.swapAt(i, timers.count - 1)
                timers.removeLast()
                body(Completion(token: t.token, result: -ETIME))
            } else {
                earliest = min(earliest, t.deadline)
                i += 1
            }
        }
        if !connecting.isEmpty {
            var expired: [UInt64] = []
            for (key, c) in connecting {
                if c.deadline <= now { expired.append(key) } else { earliest = min(earliest, c.deadline) }
            }
            for key in expired {
                connecting.removeValue(forKey: key)
                body(Completion(token: Token(raw: key), result: -ETIMEDOUT))
            }
        }
        nextDeadline = earliest
    }
}

@available(*, unavailable)
extension EpollBackend: Sendable {}
