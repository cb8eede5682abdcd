#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim

/// One engine thread of a `BackendServer`: accepts from the shared listener (EPOLLEXCLUSIVE)
/// and serves its own connections.
final class BackendWorker: @unchecked Sendable {
    private static let listenerToken = UInt64.max
    private static let wakeToken = UInt64.max - 1
    private static let readBudget = 16

    private let listenFD: Int32
    private let behavior: BackendServer.Behavior
    private let counters: LockedValue<BackendStats>
    private let sourceBuffer: SharedBuffer
    private let poller: Poller
    private let waker: Waker
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 8)
    private var connections: [Int32: BackendConnection] = [:]
    private var listening = true
    private var acceptResumeAt: UInt64 = 0

    init(listenFD: Int32, behavior: BackendServer.Behavior, counters: LockedValue<BackendStats>, sourceBuffer: SharedBuffer) throws {
        self.listenFD = listenFD
        self.behavior = behavior
        self.counters = counters
        self.sourceBuffer = sourceBuffer
        poller = try Poller()
        waker = try Waker()
        try poller.add(waker.fd, events: Epoll.input, token: Self.wakeToken)
        try poller.add(listenFD, events: Epoll.input | Epoll.exclusive, token: Self.listenerToken)
    }

    deinit { scratch.deallocate() }

    /// Asks the thread to close everything and return from `run`.
    func requestStop() { waker.wake() }

    /// The engine loop; returns after `requestStop`.
    func run() {
        var stopping = false
        while !stopping {
            if !listening, MonotonicTime.now() >= acceptResumeAt {
                if (try? poller.add(listenFD, events: Epoll.input | Epoll.exclusive, token: Self.listenerToken)) != nil {
                    listening = true
                }
            }
            poller.wait(timeoutMillis: listening ? 1000 : 20) { event in
                switch event.token {
                case Self.wakeToken: stopping = true
                case Self.listenerToken: acceptReady()
                default:
                    if let conn = connections[Int32(truncatingIfNeeded: event.token)] { handle(conn, event) }
                }
            }
        }
        poller.remove(listenFD)
        for conn in connections.values { finish(conn, reset: false) }
    }

    // MARK: Accepting

    private func acceptReady() {
        for _ in 0..<64 {
            let fd = mg_accept_nonblock(listenFD)  // accept4: nonblocking, close-on-exec
            if fd < 0 {
                let e = errno
                if e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM {
                    // Out of descriptors: stop accepting for a moment instead of spinning.
                    poller.remove(listenFD)
                    listening = false
                    acceptResumeAt = MonotonicTime.now() + 50_000_000
                }
                return
            }
            Socket.setNoDelay(fd)
            let conn = BackendConnection(fd: fd)
            counters.withLock { $0.accepted += 1; $0.active += 1 }
            connections[fd] = conn
            if case .resetAfter(let n) = behavior, n <= 0 {
                finish(conn, reset: true)
                continue
            }
            if case .drainThenReply = behavior { conn.hasher = SHA256Hasher() }
            var events = Poller.input
            if case .source = behavior { events |= Poller.output }
            conn.interest = events
            if (try? poller.add(fd, events: events, token: UInt64(UInt32(bitPattern: fd)))) == nil {
                finish(conn, reset: false)
            }
        }
    }

    // MARK: Events

    private func handle(_ conn: BackendConnection, _ event: PollEvent) {
        if event.readable, conn.interest & Epoll.input != 0 || event.events & Epoll.error != 0 {
            guard onReadable(conn) else { return }
        }
        if event.writable, conn.interest & Epoll.output != 0 {
            _ = onWritable(conn)
        }
    }

    private func setInterest(_ conn: BackendConnection, _ events: UInt32) {
        if conn.interest != events {
            conn.interest = events
            poller.modify(conn.fd, events: events, token: UInt64(UInt32(bitPattern: conn.fd)))
        }
    }

    /// Closes `conn` (with a reset if asked) and forgets it. Counted first: a peer that has seen
    /// the close then always finds it in the counters.
    private func finish(_ conn: BackendConnection, reset: Bool) {
        connections[conn.fd] = nil
        counters.withLock {
            $0.active -= 1
            if reset { $0.resets += 1 }
        }
        if reset { Socket.closeWithReset(conn.fd) } else { close(conn.fd) }
    }

    /// Shuts down the write side (FIN) and closes; the peer has already sent its FIN.
    private func finishGracefully(_ conn: BackendConnection) {
        _ = shutdown(conn.fd, Int32(SHUT_WR))
        finish(conn, reset: false)
    }

    /// Handles readability; false when the connection was closed.
    private func onReadable(_ conn: BackendConnection) -> Bool {
        for _ in 0..<Self.readBudget {
            switch Socket.receive(conn.fd, into: scratch) {
            case .bytes(let n):
                conn.received += n
                counters.withLock { $0.bytesIn += Int64(n) }
                if !consume(conn, UnsafeRawBufferPointer(rebasing: scratch[0..<n])) { return false }
                if conn.interest & Epoll.input == 0 { return true }
            case .wouldBlock:
                return true
            case .eof:
                conn.readEOF = true
                return onEOF(conn)
            case .failed(let e):
                finish(conn, reset: Socket.isReset(e))
                return false
            }
        }
        return true
    }

    /// Acts on `bytes` just received; false when the connection was closed.
    private func consume(_ conn: BackendConnection, _ bytes: UnsafeRawBufferPointer) -> Bool {
        switch behavior {
        case .echo, .pingPong:
            return sendOrQueue(conn, bytes)
        case .drainThenReply:
            conn.hasher?.update(bytes)
            return true
        case .resetAfter(let limit):
            if conn.received >= limit {
                finish(conn, reset: true)
                return false
            }
            return true
        case .sink, .source, .hold:
            return true
        }
    }

    /// Handles the peer's EOF; false when the connection was closed.
    private func onEOF(_ conn: BackendConnection) -> Bool {
        switch behavior {
        case .echo, .pingPong:
            if conn.hasPending {
                setInterest(conn, Poller.output)
                return true
            }
            finishGracefully(conn)
            return false
        case .drainThenReply(let size):
            let digest = conn.hasher?.finalize()
            let bytes = Int64(conn.received)
            counters.withLock {
                $0.lastDrainSHA256 = digest
                $0.lastDrainBytes = bytes
            }
            conn.replying = true
            conn.replyRemaining = size
            setInterest(conn, Poller.output)
            return onWritable(conn)
        case .resetAfter, .sink, .source:
            finishGracefully(conn)
            return false
        case .hold:
            // Keep the connection; stop watching for input so EOF does not spin the loop.
            setInterest(conn, 0)
            return true
        }
    }

    /// Sends `bytes`; keeps what the socket did not take and waits for writability. False when closed.
    private func sendOrQueue(_ conn: BackendConnection, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            switch Socket.send(conn.fd, UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
            case .bytes(let n):
                offset += n
                counters.withLock { $0.bytesOut += Int64(n) }
            case .wouldBlock, .eof:
                conn.queue(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                setInterest(conn, Poller.output)
                return true
            case .failed(let e):
                finish(conn, reset: Socket.isReset(e))
                return false
            }
        }
        return true
    }

    /// Sends owed bytes; `.done` when nothing is owed any more.
    private enum Flush { case done, blocked, closed }

    private func flushPending(_ conn: BackendConnection) -> Flush {
        while conn.hasPending {
            let step = conn.pending.withUnsafeBytes { Socket.send(conn.fd, UnsafeRawBufferPointer(rebasing: $0[conn.pendingOffset...])) }
            switch step {
            case .bytes(let n):
                conn.pendingOffset += n
                counters.withLock { $0.bytesOut += Int64(n) }
            case .wouldBlock, .eof:
                return .blocked
            case .failed(let e):
                finish(conn, reset: Socket.isReset(e))
                return .closed
            }
        }
        conn.pending = []
        conn.pendingOffset = 0
        return .done
    }

    /// Handles writability; false when the connection was closed.
    private func onWritable(_ conn: BackendConnection) -> Bool {
        switch behavior {
        case .echo, .pingPong:
            switch flushPending(conn) {
            case .closed: return false
            case .blocked: return true
            case .done:
                if conn.readEOF {
                    finishGracefully(conn)
                    return false
                }
                setInterest(conn, Poller.input)
                return true
            }
        case .drainThenReply:
            return writeReply(conn)
        case .source:
            return writeSource(conn)
        case .resetAfter, .sink, .hold:
            setInterest(conn, Poller.input)
            return true
        }
    }

    private func writeReply(_ conn: BackendConnection) -> Bool {
        while true {
            switch flushPending(conn) {
            case .closed: return false
            case .blocked: return true
            case .done: break
            }
            if conn.replyRemaining == 0 {
                finishGracefully(conn)
                return false
            }
            let n = min(conn.replyRemaining, 64 * 1024)
            let chunk = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<n])
            conn.replyStream.fill(chunk)
            conn.replyRemaining -= n
            conn.queue(UnsafeRawBufferPointer(chunk))
        }
    }

    private func writeSource(_ conn: BackendConnection) -> Bool {
        let buffer = UnsafeRawBufferPointer(sourceBuffer.bytes)
        for _ in 0..<Self.readBudget {
            switch Socket.send(conn.fd, UnsafeRawBufferPointer(rebasing: buffer[conn.sourceOffset...])) {
            case .bytes(let n):
                conn.sourceOffset = (conn.sourceOffset + n) % buffer.count
                counters.withLock { $0.bytesOut += Int64(n) }
            case .wouldBlock, .eof:
                return true
            case .failed(let e):
                finish(conn, reset: Socket.isReset(e))
                return false
            }
        }
        return true
    }
}
