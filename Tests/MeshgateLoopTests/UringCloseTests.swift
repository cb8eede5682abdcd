import Foundation
import Testing
@testable import MeshgateLoop
#if canImport(Glibc)
import Glibc
#endif

private let uringAllowed = IOBackendChoice.auto.resolve().kind == .uring

/// Closing and handing over sockets on io_uring: the backend cancels a socket's watch and
/// connect by `user_data` (a hash lookup in the kernel) and falls back to cancelling by
/// descriptor (a walk over every armed poll) only where it cannot know what is pending. A
/// watch left armed would keep the socket open with no descriptor, so each test checks that
/// the peer really sees the close.
@Suite(.enabled(if: uringAllowed, "the kernel refuses io_uring here"))
struct UringCloseTests {
    let helper = BackendTests()

    /// `count` accepted, non-blocking server-side sockets and their connected clients.
    func pairs(_ count: Int, listener lfd: Int32, port: UInt16) throws -> [(server: Int32, client: Int32)] {
        try (0..<count).map { _ in
            let client = try helper.blockingConnect(port)
            let server = accept(lfd, nil, nil)
            guard server >= 0 else { throw Errno.current }
            _ = fcntl(server, F_SETFL, fcntl(server, F_GETFL) | O_NONBLOCK)
            return (server, client)
        }
    }

    /// A ring, and one accepted, non-blocking server-side socket with its connected client on a
    /// new listener; close `listener` and `client` when done.
    func backendWithPair() throws -> (UringBackend, (listener: Int32, server: Int32, client: Int32)) {
        let b = try UringBackend()
        let (lfd, port) = try helper.listener()
        do {
            let pair = try #require(try pairs(1, listener: lfd, port: port).first)
            return (b, (lfd, pair.server, pair.client))
        } catch {
            close(lfd)
            throw error
        }
    }

    /// True when `client` reads EOF within 2 s (the other end was really closed).
    func seesEOF(_ client: Int32) -> Bool {
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 16)
        return read(client, &buf, 16) == 0
    }

    @Test func closingWatchedSocketsCancelsTheirWatchesByToken() throws {
        let b = try UringBackend()
        let (lfd, port) = try helper.listener()
        defer { close(lfd) }
        let sockets = try pairs(32, listener: lfd, port: port)
        defer { sockets.forEach { close($0.client) } }
        let tokens = sockets.indices.map { Token(kind: .downstreamReady, slot: UInt32($0), generation: 7) }
        for (s, t) in zip(sockets, tokens) { b.watch(fd: s.server, token: t) }
        _ = try helper.collect(b, seconds: 1) { got in Set(got.map(\.token)).isSuperset(of: tokens) }

        sockets.forEach { b.close(fd: $0.server) }
        let got = try helper.collect(b) { got in
            Set(got.filter { $0.result == -ECANCELED }.map(\.token)).isSuperset(of: tokens)
        }
        #expect(Set(got.filter { $0.result == -ECANCELED }.map(\.token)) == Set(tokens), "every watch ended cancelled")
        #expect(sockets.allSatisfy { seesEOF($0.client) }, "every socket really closed")
        #expect(b.descriptorCancels == 0, "no close walked the kernel's polls")
    }

    @Test func closingDuringAConnectCancelsTheConnect() throws {
        let b = try UringBackend()
        // A listener whose accept queue is full drops SYNs, so the connect stays pending.
        let (lfd, address, fillers) = try helper.saturatedListener()
        defer { close(lfd) }
        defer { fillers.forEach { close($0) } }
        let token = Token(kind: .connect, slot: 4, generation: 3)
        let s = try Socket.makeStream(family: AF_INET).get()
        address.withSockAddr { b.connect(fd: s, address: $0, length: $1, timeoutNanoseconds: 60_000_000_000, token: token) }
        let early = try helper.collect(b, seconds: 0.2) { _ in false }
        try #require(!early.contains { $0.token == token }, "the connect is still pending")

        b.close(fd: s)
        let got = try helper.collect(b) { $0.contains { $0.token == token } }
        #expect(got.first { $0.token == token }?.result == -ECANCELED, "the 60 s connect was cancelled by the close")
        #expect(b.descriptorCancels == 0)
    }

    @Test func aSecondWatchTokenFallsBackToCancellingByDescriptor() throws {
        let (b, pair) = try backendWithPair()
        defer { close(pair.client); close(pair.listener) }
        let first = Token(kind: .downstreamReady, slot: 1, generation: 1)
        let second = Token(kind: .auxReady, slot: 1, generation: 1)
        b.watch(fd: pair.server, token: first)
        b.watch(fd: pair.server, token: second)
        _ = try helper.collect(b, seconds: 1) { got in Set(got.map(\.token)).isSuperset(of: [first, second]) }

        b.close(fd: pair.server)
        _ = try helper.collect(b, seconds: 1) { got in
            Set(got.filter { $0.result == -ECANCELED }.map(\.token)).isSuperset(of: [first, second])
        }
        #expect(seesEOF(pair.client), "both watches were cancelled")
        #expect(b.descriptorCancels == 1)
    }

    @Test func closingAListenerCancelsItsAcceptByDescriptor() throws {
        let b = try UringBackend()
        let (lfd, port) = try helper.listener()
        let token = Token(kind: .accept, slot: 0, generation: 0)
        b.startAccept(listener: lfd, token: token, multishot: true)
        try b.wait(timeoutNanoseconds: 0) { _ in }

        b.close(fd: lfd)
        let got = try helper.collect(b, seconds: 2) { $0.contains { $0.token == token && !$0.more } }
        #expect(got.contains { $0.token == token && $0.result == -ECANCELED && !$0.more })
        #expect(throws: Errno.self) { _ = try helper.blockingConnect(port) }
        #expect(b.descriptorCancels == 1)
    }

    @Test func releaseCancelsTheWatchBeforeTheNewOwnerCloses() throws {
        let (b, pair) = try backendWithPair()
        defer { close(pair.client); close(pair.listener) }
        let token = Token(kind: .downstreamReady, slot: 2, generation: 5)
        b.watch(fd: pair.server, token: token)
        _ = try helper.collect(b, seconds: 1) { $0.contains { $0.token == token } }

        b.release(fd: pair.server)
        close(pair.server)  // the new owner closes at once, before the loop waits again
        let got = try helper.collect(b, seconds: 2) { $0.contains { $0.token == token && $0.result == -ECANCELED } }
        #expect(got.contains { $0.token == token && $0.result == -ECANCELED })
        #expect(seesEOF(pair.client))
        #expect(b.descriptorCancels == 0)
    }
}

/// The per-descriptor record itself, without a ring.
@Suite struct UringPendingOperationsTests {
    @Test func recordsOneWatchAndOneConnectPerDescriptor() {
        var p = UringPendingOperations()
        p.connect(5000, 11)
        p.watch(5000, 12)
        p.watch(5000, 12)  // re-armed under the same token
        #expect(p.take(5000) == .init(watch: 12, connect: 11, byDescriptor: false))
        #expect(p.take(5000) == .init(), "take forgets")
        #expect(p.take(-1) == .init())
        #expect(p.take(1 << 20) == .init())
    }

    @Test func anythingElseFallsBackToTheDescriptor() {
        var p = UringPendingOperations()
        p.watch(3, 1)
        p.watch(3, 2)
        #expect(p.take(3).byDescriptor)
        p.connect(4, 1)
        p.connect(4, 2)
        #expect(p.take(4).byDescriptor)
        p.untracked(5)
        #expect(p.take(5).byDescriptor)
        p.watch(5, 1)
        #expect(!p.take(5).byDescriptor, "a closed descriptor's number starts afresh")
    }
}
