import Foundation
import MeshgateLoop
import MeshgateNames
import MeshgateTLS
import Testing
@testable import MeshgateDiscovery
@testable import MeshgateProxy
import MeshgateTestKit

#if canImport(Glibc)
import Glibc
#endif

/// `TLSStream`: blocking calls with deadlines over a non-blocking socket, `interrupt()` from
/// another thread, clean ends and resets.
@Suite(.serialized) struct TLSStreamTests {
    @Test("bytes go both ways; each side sees the other's verified identity")
    func roundTrip() throws {
        let (client, server) = try StreamTestPair.make()
        defer { client.close(); server.close() }
        #expect(client.peerIdentity == StreamTestPKI.eastIdentity)
        #expect(server.peerIdentity == StreamTestPKI.westIdentity)
        try client.write(Array("hello".utf8), deadline: .now + .seconds(2))
        var got: [UInt8] = []
        while got.count < 5 { got += try server.read(deadline: .now + .seconds(2)) }
        #expect(got == Array("hello".utf8))
        let big = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let writer = Thread { try? server.write(big, deadline: .now + .seconds(5)) }
        writer.start()
        var back: [UInt8] = []
        while back.count < big.count {
            let chunk = try client.read(deadline: .now + .seconds(5))
            if chunk.isEmpty { break }
            back += chunk
        }
        #expect(back == big)
    }

    @Test("read(max:) returns at most max bytes; the rest comes with the next reads")
    func readMax() throws {
        let (client, server) = try StreamTestPair.make()
        defer { client.close(); server.close() }
        try client.write(Array(0..<100), deadline: .now + .seconds(2))
        var got: [UInt8] = []
        while got.count < 100 {
            let chunk = try server.read(max: 30, deadline: .now + .seconds(2))
            #expect(chunk.count <= 30 && !chunk.isEmpty)
            got += chunk
        }
        #expect(got == Array(0..<100))
    }

    @Test("a read with nothing to read times out at its deadline with timedOut == true")
    func readDeadline() throws {
        let (client, server) = try StreamTestPair.make()
        defer { client.close(); server.close() }
        let (error, took) = try TLSStreamFailure.of(
            { () throws(TLSStreamError) in try server.read(deadline: .now + .milliseconds(200)) },
            otherwise: { "read returned \($0.count) bytes instead of timing out" }).pair
        #expect(error.timedOut, "\(error)")
        #expect(took >= .milliseconds(190), "returned before the deadline: \(took)")
        #expect(took < .milliseconds(1500), "returned long after the deadline: \(took)")
        // The stream still works after a timeout.
        try client.write([42], deadline: .now + .seconds(2))
        #expect(try server.read(deadline: .now + .seconds(2)) == [42])
    }

    @Test("interrupt() from another thread unblocks a read at once, not as a timeout, and every later call fails")
    func interruptUnblocksRead() throws {
        let (client, server) = try StreamTestPair.make()
        defer { client.close(); server.close() }
        let outcome = LockedBox<Result<[UInt8], TLSStreamError>?>(nil)
        let returned = DispatchSemaphore(value: 0)
        let reader = Thread {
            do throws(TLSStreamError) {
                outcome.value = .success(try server.read(deadline: .now + .seconds(10)))
            } catch {
                outcome.value = .failure(error)
            }
            returned.signal()
        }
        reader.start()
        Thread.sleep(forTimeInterval: 0.3)
        #expect(outcome.value == nil, "the read is blocked")
        let interrupted = ContinuousClock.now
        server.interrupt()
        #expect(returned.wait(timeout: .now() + 2) == .success, "the read returned after interrupt()")
        let took = ContinuousClock.now - interrupted
        #expect(took < .seconds(1), "\(took)")
        switch outcome.value {
        case .failure(let e): #expect(!e.timedOut, "\(e)")
        case .success(let bytes): Issue.record("read returned \(bytes) after interrupt()")
        case nil: Issue.record("no outcome")
        }
        // From now on: a read fails at once, so does a write.
        let again = ContinuousClock.now
        #expect(throws: TLSStreamError.self) { _ = try server.read(deadline: .now + .seconds(5)) }
        #expect(ContinuousClock.now - again < .seconds(1))
        #expect(throws: TLSStreamError.self) { try server.write([1, 2, 3], deadline: .now + .seconds(5)) }
    }

    @Test("a stream interrupted before a call fails the call at once")
    func interruptBeforeBlockingFails() throws {
        let (client, server) = try StreamTestPair.make()
        defer { client.close(); server.close() }
        client.interrupt()
        let started = ContinuousClock.now
        #expect(throws: TLSStreamError.self) { _ = try client.read(deadline: .now + .seconds(5)) }
        #expect(ContinuousClock.now - started < .seconds(1))
    }

    @Test("close() sends close_notify: the peer reads [] (a clean end)")
    func cleanClose() throws {
        let (client, server) = try StreamTestPair.make()
        defer { server.close() }
        try client.write([1, 2, 3], deadline: .now + .seconds(2))
        client.close()
        var got: [UInt8] = []
        while true {
            let chunk = try server.read(deadline: .now + .seconds(2))
            if chunk.isEmpty { break }
            got += chunk
        }
        #expect(got == [1, 2, 3], "data before close_notify is delivered")
    }

    @Test("reset(): the peer's read fails (not a clean end, not a timeout)")
    func resetIsNotClean() throws {
        let (client, server) = try StreamTestPair.make()
        defer { client.close() }
        // Let the client take the session tickets first, so only the reset is left to read.
        #expect(throws: TLSStreamError.self) { _ = try client.read(deadline: .now + .milliseconds(100)) }
        server.reset()
        let error = try TLSStreamFailure.of(
            { () throws(TLSStreamError) in try client.read(deadline: .now + .seconds(2)) },
            otherwise: { "read returned \($0) after a reset" }).error
        #expect(!error.timedOut, "\(error)")
    }

    @Test("hasInput: false while the peer is quiet, true once it has written, false again once read")
    func hasInput() async throws {
        let (client, server) = try StreamTestPair.make()
        defer { client.close(); server.close() }
        #expect(server.hasInput == false)
        try client.write([7, 8, 9], deadline: .now + .seconds(2))
        let deadline = ContinuousClock.now + .seconds(2)
        while !server.hasInput && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(server.hasInput)
        var got: [UInt8] = []
        while got.count < 3 { got += try server.read(deadline: .now + .seconds(2)) }
        #expect(got == [7, 8, 9])
        #expect(server.hasInput == false)
        client.close()
        let deadline2 = ContinuousClock.now + .seconds(2)
        while !server.hasInput && ContinuousClock.now < deadline2 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(server.hasInput, "a close is input too")
        #expect(try server.read(deadline: .now + .seconds(2)) == [])
    }

    @Test("connect: a peer that accepts TCP but never speaks TLS times out at the deadline (timedOut == true)")
    func connectTimesOut() throws {
        let (listenFD, address) = try StreamTestPair.listener()  // never accepted: the kernel completes TCP
        defer { Glibc.close(listenFD) }
        let context = try StreamTestPKI.context(.client, leaf: "west")
        let (error, took) = try TLSStreamFailure.of(
            { () throws(TLSStreamError) in
                try TLSStream.connect(to: address, context: context, expected: StreamTestPKI.eastIdentity, deadline: .now + .milliseconds(300)).close()
            },
            otherwise: { "connected to a listener that never speaks TLS" }).pair
        #expect(error.timedOut, "\(error)")
        #expect(took >= .milliseconds(290) && took < .seconds(2), "\(took)")
    }

    @Test("connect: isCancelled turning true ends the wait for a silent peer within about 250 ms, not as a timeout")
    func connectCancelled() throws {
        let (listenFD, address) = try StreamTestPair.listener()  // never accepted: TLS never answers
        defer { Glibc.close(listenFD) }
        let context = try StreamTestPKI.context(.client, leaf: "west")
        let started = ContinuousClock.now
        let cancelAt = started + .milliseconds(300)
        let (error, took) = try TLSStreamFailure.of(
            { () throws(TLSStreamError) in
                try TLSStream.connect(
                    to: address, context: context, expected: StreamTestPKI.eastIdentity, deadline: .now + .seconds(10),
                    isCancelled: { ContinuousClock.now >= cancelAt }
                ).close()
            },
            started: started, otherwise: { "connected to a listener that never speaks TLS" }).pair
        #expect(!error.timedOut, "\(error)")
        #expect(took >= .milliseconds(290), "\(took)")
        #expect(took < .milliseconds(1500), "cancellation is noticed within a poll slice: \(took)")
    }

    @Test("connect: a refused port and a server with the wrong identity fail at once, not as timeouts")
    func connectFailures() throws {
        let context = try StreamTestPKI.context(.client, leaf: "west")
        let (fd, address) = try StreamTestPair.listener()
        Glibc.close(fd)
        try expectConnectFailsFast(
            to: address, context: context, expected: StreamTestPKI.eastIdentity, within: .seconds(2), "connected to a closed port")

        // The server presents east; we expect "other".
        let (listenFD, serverAddress) = try StreamTestPair.listener()
        defer { Glibc.close(listenFD) }
        let serverContext = try StreamTestPKI.context(.server, leaf: "east")
        let serverThread = Thread {
            guard let c = try? StreamTestPair.acceptOne(listenFD) else { return }
            let s = try? TLSStream.accept(fd: c, context: serverContext, deadline: .now + .seconds(3))
            s?.close()
        }
        serverThread.start()
        try expectConnectFailsFast(
            to: serverAddress, context: context, expected: StreamTestPKI.otherIdentity, within: .seconds(3),
            "connected although the server does not prove the expected identity")
    }

    /// A client connect (5 s deadline) to `address` expecting `expected` fails, and fails at once
    /// (within `bound`, not as a timeout); `connectedMessage` is recorded (and the test stops) if it connects.
    private func expectConnectFailsFast(
        to address: SocketAddress, context: TLSContext, expected: WorkloadIdentity, within bound: Duration, _ connectedMessage: Comment,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let (error, took) = try TLSStreamFailure.of(
            { () throws(TLSStreamError) in
                try TLSStream.connect(to: address, context: context, expected: expected, deadline: .now + .seconds(5)).close()
            },
            otherwise: { connectedMessage }, sourceLocation: sourceLocation).pair
        #expect(!error.timedOut, "\(error)", sourceLocation: sourceLocation)
        #expect(took < bound, sourceLocation: sourceLocation)
    }
}
