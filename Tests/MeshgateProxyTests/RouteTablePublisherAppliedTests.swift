import Foundation
import MeshgateLoop
import Testing
@testable import MeshgateProxy

/// What the loops run: `appliedByAllLoops` is the lowest generation any loop reported, and
/// `waitUntilApplied` wakes when the last loop reports it (no running loops: `loopApplied` calls).
@Suite(.serialized) struct RouteTablePublisherAppliedTests {
    static func publisher(loops: Int) throws -> RouteTablePublisher {
        RouteTablePublisher(
            bindAddress: try SocketAddress.resolve(host: "127.0.0.1", port: 0), portRange: 40_100...40_109,
            credentials: try PublisherCredentials.shared(), loops: loops)
    }

    /// Runs `body` on a thread; the result once it returns (within `seconds`), else nil.
    static func onThread<T: Sendable>(seconds: Double = 10, _ body: @escaping @Sendable () -> T) async -> T? {
        let box = ResultBox<T>()
        Thread { box.set(body()) }.start()
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let value = box.value { return value }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return box.value
    }

    final class ResultBox<T: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: T?
        var value: T? { lock.withLock { stored } }
        func set(_ v: T) { lock.withLock { stored = v } }
    }

    @Test("appliedByAllLoops is the lowest loop's generation; waitUntilApplied times out while a loop lags")
    func lowestLoopCounts() throws {
        let p = try Self.publisher(loops: 2)
        let g = p.publish(routes: [], services: []).generation
        #expect(p.appliedByAllLoops == 0)
        p.loopApplied(0, generation: g)
        #expect(p.appliedByAllLoops == 0, "loop 1 still runs generation 0")
        #expect(!p.waitUntilApplied(g, timeout: .milliseconds(50)))
        p.loopApplied(1, generation: g)
        #expect(p.appliedByAllLoops == g)
        #expect(p.waitUntilApplied(g, timeout: .zero))
        #expect(p.waitUntilApplied(g - 1, timeout: .zero), "an older generation is applied too")
    }

    @Test("a waiter wakes when the last loop applies, long before its timeout")
    func lastApplyWakesWaiter() async throws {
        let p = try Self.publisher(loops: 2)
        let g = p.publish(routes: [], services: []).generation
        p.loopApplied(0, generation: g)
        let started = ContinuousClock.now
        let waiter = Task { await Self.onThread { () -> Bool in
            // One wait may end early (wakeWaiters, another loop): wait again, as callers do.
            while ContinuousClock.now - started < .seconds(30) { if p.waitUntilApplied(g, timeout: .seconds(30)) { return true } }
            return false
        } }
        p.loopApplied(1, generation: g)
        #expect(await waiter.value == true)
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("wakeWaiters ends a waitUntilApplied early (false: the loops still lag)")
    func wakeWaitersEndsTheWait() async throws {
        let p = try Self.publisher(loops: 2)
        let g = p.publish(routes: [], services: []).generation
        let started = ContinuousClock.now
        let box = ResultBox<Bool>()
        Thread { box.set(p.waitUntilApplied(g, timeout: .seconds(30))) }.start()
        // The waiter may not wait yet when woken: wake it until it returns.
        while box.value == nil && ContinuousClock.now - started < .seconds(10) {
            p.wakeWaiters()
            try? await Task.sleep(for: .milliseconds(10))
        }
        #expect(box.value == false)
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
