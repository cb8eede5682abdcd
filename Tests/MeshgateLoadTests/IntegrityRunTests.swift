import Testing
@testable import MeshgateLoad

@Suite("IntegrityRun", .timeLimit(.minutes(1)))
struct IntegrityRunTests {
    @Test("200 connections of random sizes through an echo backend come back intact")
    func echoIntact() throws {
        let server = try BackendServer(behavior: .echo, threads: 2)
        defer { server.stop() }
        var rng = SystemRandomNumberGenerator()
        var sizes = (0..<198).map { _ in Int.random(in: 0...256 * 1024, using: &rng) }
        sizes += [0, 256 * 1024]
        let report = IntegrityRun.run(target: server.endpoint, sizes: sizes, concurrency: sizes.count, deadline: .seconds(30))
        #expect(report.allOK, "\(report)")
        #expect(report.connections == 200)
        #expect(report.mismatches == 0)
        #expect(report.bytesEachWay == Int64(sizes.reduce(0, +)))
    }

    @Test("a bounded concurrency runs every connection")
    func boundedConcurrency() throws {
        let server = try BackendServer(behavior: .echo)
        defer { server.stop() }
        let report = IntegrityRun.run(target: server.endpoint, sizes: Array(repeating: 10_000, count: 50), concurrency: 4, deadline: .seconds(20))
        #expect(report.ok == 50, "\(report)")
        #expect(server.stats.accepted == 50)
    }

    @Test("the check fails when the answer has the right length but other bytes")
    func detectsCorruption() throws {
        let server = try BackendServer(behavior: .drainThenReply(65_536))
        defer { server.stop() }
        let report = IntegrityRun.run(target: server.endpoint, sizes: Array(repeating: 65_536, count: 20), concurrency: 20, deadline: .seconds(20))
        #expect(report.mismatches == 20, "\(report)")
        #expect(report.ok == 0)
        #expect(report.failureSamples.first?.contains("mismatch") == true)
    }

    @Test("short answers and resets count as failures")
    func failures() throws {
        let short = try BackendServer(behavior: .drainThenReply(10))
        defer { short.stop() }
        let r1 = IntegrityRun.run(target: short.endpoint, sizes: [1000, 2000], concurrency: 2, deadline: .seconds(10))
        #expect(r1.failures == 2 && r1.resets == 0, "\(r1)")

        let reset = try BackendServer(behavior: .resetAfter(1))
        defer { reset.stop() }
        let r2 = IntegrityRun.run(target: reset.endpoint, sizes: [100_000, 100_000, 100_000], concurrency: 3, deadline: .seconds(10))
        #expect(r2.failures == 3 && r2.resets == 3, "\(r2)")
        #expect(r2.ok + r2.mismatches + r2.failures == r2.connections)
    }

    @Test("a backend that never answers ends at the deadline as failures")
    func deadline() throws {
        let hold = try BackendServer(behavior: .hold)
        defer { hold.stop() }
        let clock = ContinuousClock()
        let start = clock.now
        let r = IntegrityRun.run(target: hold.endpoint, sizes: [1, 100_000, 0], concurrency: 2, deadline: .milliseconds(500))
        #expect(r.failures == 3, "\(r)")
        #expect(clock.now - start < .seconds(3))
        #expect(r.failureSamples.contains { $0.contains("deadline") })
    }

    @Test("a sink's empty answer and a refused connect are failures")
    func refusedAndEmpty() throws {
        let sink = try BackendServer(behavior: .sink)
        let endpoint = sink.endpoint
        let r = IntegrityRun.run(target: endpoint, sizes: [5, 5], concurrency: 2, deadline: .seconds(5))
        #expect(r.failures == 2, "\(r)")
        sink.stop()
        let r2 = IntegrityRun.run(target: endpoint, sizes: [1, 1], concurrency: 2, deadline: .seconds(5))
        #expect(r2.failures == 2, "\(r2)")
        #expect(r2.failureSamples.first?.contains("refused") == true, "\(r2.failureSamples)")
    }
}
