import Foundation
import Testing
import MeshgateLoop
#if canImport(Glibc)
import Glibc
#endif

/// Each backend is driven through the same interface with real loopback sockets.
@Suite struct BackendTests {
    /// Collects completions until `until` says stop or the deadline passes.
    func collect(_ b: any EventBackend, seconds: Double = 5, until: ([Completion]) -> Bool) throws -> [Completion] {
        var got: [Completion] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline && !until(got) {
            try b.wait(timeoutNanoseconds: 50_000_000) { got.append($0) }
        }
        return got
    }

    /// Wakes `b` and collects until the wake-up comes back: what `b` had to report before it (a
    /// connection already queued, say) has been reported by then.
    func collectThroughWake(_ b: any EventBackend) throws -> [Completion] {
        b.waker.wake()
        return try collect(b) { $0.contains { $0.token.kind == .wake } }
    }

    func blockingConnect(_ port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let rc = try SocketAddress.resolve(host: "127.0.0.1", port: port).withSockAddr { Glibc.connect(fd, $0, $1) }
        guard rc == 0 else { throw Errno.current }
        return fd
    }

    func listener(backlog: Int32 = 128) throws -> (fd: Int32, port: UInt16) {
        let fd = try Socket.listen(on: try SocketAddress.resolve("127.0.0.1:0"), reusePort: false, backlog: backlog)
        return (fd, try Socket.localAddress(fd).port)
    }

    /// A backend of `kind` accepting with `token` (multishot) on a new loopback listener; close
    /// `fd` when done.
    func acceptingBackend(_ kind: IOBackendKind, token: Token) throws -> (backend: any EventBackend, fd: Int32, port: UInt16) {
        let b = try kind.makeBackend()
        let (lfd, port) = try listener()
        b.startAccept(listener: lfd, token: token, multishot: true)
        return (b, lfd, port)
    }

    /// A listener whose accept queue is full, so it drops SYNs and a new connect to `address`
    /// stays pending; close `fd` and every filler when done.
    func saturatedListener() throws -> (fd: Int32, address: SocketAddress, fillers: [Int32]) {
        let (lfd, port) = try listener(backlog: 0)
        let address = try SocketAddress.resolve("127.0.0.1:\(port)")
        var fillers: [Int32] = []
        for _ in 0..<4 {
            let s = try Socket.makeStream(family: AF_INET).get()
            _ = address.withSockAddr { Glibc.connect(s, $0, $1) }
            fillers.append(s)
        }
        // A connection waiting in the accept queue fills it (backlog 0): further SYNs are dropped.
        var ready = pollfd(fd: lfd, events: Int16(POLLIN), revents: 0)
        _ = poll(&ready, 1, 5_000)
        return (lfd, address, fillers)
    }

    @Test(arguments: IOBackendKind.allCases)
    func acceptsAndReportsReadiness(kind: IOBackendKind) throws {
        let acceptToken = Token(kind: .accept, slot: 0, generation: 0)
        let (b, lfd, port) = try acceptingBackend(kind, token: acceptToken)
        defer { close(lfd) }
        let client = try blockingConnect(port)
        defer { close(client) }
        let accepted = try collect(b) { $0.contains { $0.token == acceptToken } }
        let fd = try #require(accepted.first { $0.token == acceptToken }).result
        #expect(fd >= 0)
        #expect(fcntl(fd, F_GETFL) & O_NONBLOCK != 0, "accepted sockets are non-blocking")

        let watchToken = Token(kind: .downstreamReady, slot: 3, generation: 9)
        b.watch(fd: fd, token: watchToken)
        // Nothing to read yet; writable is reported at once.
        let first = try collect(b, seconds: 1) { $0.contains { $0.token == watchToken } }
        #expect(first.contains { $0.token == watchToken && $0.readiness.contains(.writable) })
        #expect(!first.contains { $0.token == watchToken && $0.readiness.contains(.readable) })

        _ = write(client, "hello", 5)
        let readable = try collect(b) { $0.contains { $0.token == watchToken && $0.readiness.contains(.readable) } }
        #expect(readable.contains { $0.token == watchToken && $0.readiness.contains(.readable) })

        var five = [UInt8](repeating: 0, count: 5)
        #expect(read(fd, &five, 5) == 5)
        shutdown(client, Int32(SHUT_WR))
        let hup = try collect(b) { $0.contains { $0.token == watchToken && $0.readiness.contains(.hangup) } }
        #expect(hup.contains { $0.token == watchToken && $0.readiness.contains(.hangup) })
        b.close(fd: fd)
        try b.wait(timeoutNanoseconds: 0) { _ in }
        // The client sees the close (EOF) once the backend really closed the socket.
        var buf = [UInt8](repeating: 0, count: 16)
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        #expect(read(client, &buf, 16) == 0)
    }

    @Test(arguments: IOBackendKind.allCases)
    func connectsAndRefuses(kind: IOBackendKind) throws {
        let b = try kind.makeBackend()
        let (lfd, port) = try listener()
        defer { close(lfd) }
        let good = try SocketAddress.resolve("127.0.0.1:\(port)")
        // A port nobody listens on: bind one, note it, close it.
        let (tmp, closedPort) = try listener()
        close(tmp)
        let refused = try SocketAddress.resolve("127.0.0.1:\(closedPort)")

        let okToken = Token(kind: .connect, slot: 1, generation: 1)
        let badToken = Token(kind: .connect, slot: 2, generation: 1)
        let s1 = try Socket.makeStream(family: AF_INET).get()
        let s2 = try Socket.makeStream(family: AF_INET).get()
        good.withSockAddr { b.connect(fd: s1, address: $0, length: $1, timeoutNanoseconds: 2_000_000_000, token: okToken) }
        refused.withSockAddr { b.connect(fd: s2, address: $0, length: $1, timeoutNanoseconds: 2_000_000_000, token: badToken) }
        let got = try collect(b) { c in c.contains { $0.token == okToken } && c.contains { $0.token == badToken } }
        #expect(got.first { $0.token == okToken }?.result == 0)
        #expect(got.first { $0.token == badToken }?.result == -ECONNREFUSED)
        b.close(fd: s1)
        b.close(fd: s2)
    }

    @Test(arguments: IOBackendKind.allCases)
    func connectTimesOut(kind: IOBackendKind) throws {
        let b = try kind.makeBackend()
        // A listener whose accept queue is full drops SYNs, so a connect hangs until the timeout.
        let (lfd, address, fillers) = try saturatedListener()
        defer { close(lfd) }
        defer { fillers.forEach { close($0) } }
        let token = Token(kind: .connect, slot: 5, generation: 2)
        let s = try Socket.makeStream(family: AF_INET).get()
        let start = Date()
        address.withSockAddr { b.connect(fd: s, address: $0, length: $1, timeoutNanoseconds: 300_000_000, token: token) }
        let got = try collect(b) { $0.contains { $0.token == token } }
        let elapsed = Date().timeIntervalSince(start)
        let result = try #require(got.first { $0.token == token }).result
        #expect(result == -ECANCELED || result == -ETIMEDOUT, "got \(result)")
        #expect(elapsed >= 0.25 && elapsed < 3, "elapsed \(elapsed)")
        b.close(fd: s)
    }

    @Test(arguments: IOBackendKind.allCases)
    func timersFireInOrder(kind: IOBackendKind) throws {
        let b = try kind.makeBackend()
        let t1 = Token(kind: .timer, slot: 1, generation: 0)
        let t2 = Token(kind: .timer, slot: 2, generation: 0)
        let start = Date()
        b.schedule(afterNanoseconds: 200_000_000, token: t2)
        b.schedule(afterNanoseconds: 50_000_000, token: t1)
        let got = try collect(b) { c in c.contains { $0.token == t2 } }
        let order = got.filter { $0.token.kind == .timer }.map(\.token)
        #expect(order == [t1, t2])
        #expect(Date().timeIntervalSince(start) >= 0.19)
    }

    @Test(arguments: IOBackendKind.allCases)
    func wakerWakesFromAnotherThread(kind: IOBackendKind) throws {
        let b = try kind.makeBackend()
        let waker = b.waker
        let t = Thread { usleep(100_000); waker.wake() }
        t.start()
        let got = try collect(b) { $0.contains { $0.token.kind == .wake } }
        #expect(got.contains { $0.token.kind == .wake })
        // A second wake-up works too (the read is re-armed / the eventfd drained).
        waker.wake()
        let again = try collect(b) { $0.contains { $0.token.kind == .wake } }
        #expect(again.contains { $0.token.kind == .wake })
    }

    @Test(arguments: IOBackendKind.allCases)
    func singleAcceptTakesOneConnection(kind: IOBackendKind) throws {
        let b = try kind.makeBackend()
        let (lfd, port) = try listener()
        defer { close(lfd) }
        let token = Token(kind: .accept, slot: 0, generation: 1)
        let c1 = try blockingConnect(port)
        let c2 = try blockingConnect(port)
        defer { close(c1); close(c2) }
        // Each round: the accept, then a wake-up through the loop (anything more would come by then).
        let acceptThenWake = { try (self.collect(b) { $0.contains { $0.token == token } } + self.collectThroughWake(b)).filter { $0.token == token } }
        b.startAccept(listener: lfd, token: token, multishot: false)
        let got = try acceptThenWake()
        #expect(got.count == 1, "exactly one accepted")
        #expect(got.first.map { $0.result >= 0 && !$0.more } == true)
        got.forEach { if $0.result >= 0 { close($0.result) } }
        // Re-arming takes the next one.
        b.startAccept(listener: lfd, token: token, multishot: false)
        let next = try acceptThenWake()
        #expect(next.count == 1)
        next.forEach { if $0.result >= 0 { close($0.result) } }
    }

    @Test(arguments: IOBackendKind.allCases)
    func stopAcceptEndsAccepting(kind: IOBackendKind) throws {
        let token = Token(kind: .accept, slot: 0, generation: 0)
        let (b, lfd, port) = try acceptingBackend(kind, token: token)
        defer { close(lfd) }
        try b.wait(timeoutNanoseconds: 0) { _ in }
        b.stopAccept(listener: lfd, token: token)
        _ = try collectThroughWake(b)  // the stop has gone through the loop
        let client = try blockingConnect(port)  // queued in the backlog, not accepted
        defer { close(client) }
        var queued = pollfd(fd: lfd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&queued, 1, 5_000) == 1, "the client waits in the listener's backlog")
        let got = try collectThroughWake(b)
        #expect(!got.contains { $0.token == token && $0.result >= 0 })
    }
}

@Suite struct BackendChoiceTests {
    @Test func autoPicksUringWhereAllowed() {
        let (kind, reason) = IOBackendChoice.auto.resolve()
        let disabled = (try? String(contentsOfFile: "/proc/sys/kernel/io_uring_disabled", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if disabled == "0" || disabled == nil {
            #expect(kind == .uring, "\(reason)")
        } else {
            #expect(kind == .epoll, "\(reason)")
        }
        #expect(!reason.isEmpty)
    }

    @Test func explicitChoicesAreKept() {
        #expect(IOBackendChoice.epoll.resolve().kind == .epoll)
        #expect(IOBackendChoice.uring.resolve().kind == .uring)
    }
}
