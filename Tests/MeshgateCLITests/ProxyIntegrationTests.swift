import Foundation
import MeshgateLoad
import MeshgateTestKit
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The data-plane acceptance tests of `meshgate proxy`, each run against both io backends,
/// with real processes, real sockets and real peers on loopback.
@Suite(.serialized) struct ProxyIntegrationTests {
    static let backends = ["uring", "epoll"]

    /// Random sizes 0–1 MiB from a fixed seed, so a failure can be replayed.
    static func sizes(count: Int, seed: UInt64) -> [Int] {
        var g = SplitMix64(seed: seed)
        return (0..<count).map { _ in Int(g.next() % (1 << 20 + 1)) }
    }

    /// An echo backend (`echoThreads` threads) and a `meshgate proxy` to it; stop `echo` when done.
    static func proxyToEcho(
        backend: String, echoThreads: Int = 1, extra: [String] = []
    ) throws -> (echo: BackendServer, proxy: MeshgateProcess, endpoint: Endpoint) {
        let echo = try BackendServer(behavior: .echo, threads: echoThreads)
        do {
            let (proxy, endpoint) = try MeshgateProcess.proxy(upstreams: [echo.endpoint], backend: backend, extra: extra)
            return (echo, proxy, endpoint)
        } catch {
            echo.stop()
            throw error
        }
    }

    @Test("1000 concurrent streams (0–1 MiB, plus three of 64 MiB) arrive intact", arguments: backends)
    func integrity(backend: String) throws {
        let (echo, proxy, endpoint) = try Self.proxyToEcho(backend: backend, echoThreads: 2)
        defer { echo.stop() }
        var sizes = Self.sizes(count: 1000, seed: 42)
        sizes += [64 << 20, 64 << 20, 64 << 20]
        let report = IntegrityRun.run(target: endpoint, sizes: sizes, concurrency: sizes.count, deadline: .seconds(300))
        #expect(report.connections == 1003)
        #expect(report.mismatches == 0, "\(report.failureSamples)")
        #expect(report.failures == 0, "\(report.failureSamples)")
        #expect(report.ok == 1003)
        let total = Int64(sizes.reduce(0, +))
        #expect(report.bytesEachWay == total)
        let stats = try proxy.stats()
        #expect((stats["accepted"] as? Int) == 1003)
        #expect((stats["bytes_downstream_to_upstream"] as? Int).map(Int64.init) == total)
        #expect((stats["bytes_upstream_to_downstream"] as? Int).map(Int64.init) == total)
        #expect((stats["io_backend"] as? String) == backend)
    }

    @Test("half-close: the client's FIN reaches the backend, the answer still comes back", arguments: backends)
    func halfClose(backend: String) throws {
        let server = try BackendServer(behavior: .drainThenReply(3 << 20))
        defer { server.stop() }
        let (proxy, endpoint) = try MeshgateProcess.proxy(upstreams: [server.endpoint], backend: backend)
        let fd = try TestClient.connect(endpoint)
        defer { close(fd) }
        let sent: String
        do { sent = try TestClient.writeAll(fd: fd, pattern: 7, count: 5 << 20) } catch {
            Issue.record("write failed: \(error); proxy running: \(proxy.process.isRunning); stderr: \(proxy.stderr)")
            return
        }
        shutdown(fd, Int32(SHUT_WR))
        let (outcome, _) = TestClient.readAll(fd: fd, timeout: .seconds(30))
        #expect(outcome == .eof(bytes: 3 << 20))
        #expect(server.stats.lastDrainSHA256 == sent, "the backend read exactly what was sent, to EOF")
    }

    @Test("a backend reset mid-stream reaches the client as a reset, not an EOF", arguments: backends)
    func backendResetBecomesClientReset(backend: String) throws {
        let server = try BackendServer(behavior: .resetAfter(100_000))
        defer { server.stop() }
        let (proxy, endpoint) = try MeshgateProcess.proxy(upstreams: [server.endpoint], backend: backend)
        let seen = try ResetPropagation.fromBackend(entry: endpoint)
        if let writeError = seen.writeError {
            #expect(writeError.contains("reset"), "write failed with \(writeError)")
        } else {
            #expect(seen.readOutcome?.isReset == true, "expected a reset, got \(String(describing: seen.readOutcome))")
        }
        #expect(try proxy.counter("resets_from_upstream") >= 1)
    }

    @Test("a client reset mid-stream reaches the backend as a reset", arguments: backends)
    func clientResetBecomesBackendReset(backend: String) throws {
        let backendSide = try RawListener()
        let (proxy, endpoint) = try MeshgateProcess.proxy(
            upstreams: [Endpoint(host: "127.0.0.1", port: backendSide.port)], backend: backend)
        let (first, outcome) = try ResetPropagation.fromClient(entry: endpoint, backendSide: backendSide, acceptTimeout: 5)
        #expect(first == [UInt8].pattern(seed: 3, count: 10_000), "the backend got the first 10 000 bytes intact")
        #expect(outcome.isReset, "expected the backend to see a reset, got \(outcome)")
        #expect(try proxy.counter("resets_from_downstream") >= 1)
    }

    @Test("one upstream down, one up: every connection succeeds", arguments: backends)
    func failsOverToLiveUpstream(backend: String) throws {
        let echo = try BackendServer(behavior: .echo)
        defer { echo.stop() }
        let dead = try RawListener.closedPort()
        let (proxy, endpoint) = try MeshgateProcess.proxy(
            upstreams: [Endpoint(host: "127.0.0.1", port: dead), echo.endpoint], backend: backend)
        let report = IntegrityRun.run(target: endpoint, sizes: Array(repeating: 10_000, count: 100), concurrency: 10, deadline: .seconds(60))
        #expect(report.ok == 100, "\(report.failureSamples)")
        #expect(report.failures == 0)
        #expect(try proxy.counter("upstreams_exhausted") == 0)
    }

    @Test("all upstreams down: the client gets a reset well under a second", arguments: backends)
    func allUpstreamsDownResetsFast(backend: String) throws {
        let dead1 = try RawListener.closedPort()
        let dead2 = try RawListener.closedPort()
        let (proxy, endpoint) = try MeshgateProcess.proxy(
            upstreams: [Endpoint(host: "127.0.0.1", port: dead1), Endpoint(host: "127.0.0.1", port: dead2)], backend: backend)
        for _ in 0..<5 {
            let start = Date()
            // A blocking connect returns once the handshake is done; the proxy's reset can
            // only arrive after that, so it is seen by the read.
            let fd = try RawListener.blockingConnect(port: endpoint.port)
            let (outcome, _) = TestClient.readAll(fd: fd, timeout: .seconds(5))
            close(fd)
            let elapsed = Date().timeIntervalSince(start)
            #expect(outcome.isReset, "expected a reset, got \(outcome)")
            #expect(elapsed < 0.5, "reset took \(elapsed) s")
        }
        #expect(try proxy.counter("upstreams_exhausted") == 5)
    }

    @Test("an idle connection is closed after --idle-timeout; a busy one is not", arguments: backends)
    func idleTimeout(backend: String) throws {
        let (echo, proxy, endpoint) = try Self.proxyToEcho(backend: backend, extra: ["--idle-timeout", "1s"])
        defer { echo.stop() }
        let idle = try TestClient.connect(endpoint)
        defer { close(idle) }
        let busy = try TestClient.connect(endpoint)
        defer { close(busy) }
        // Keep one connection busy for 3 s while the other stays silent.
        var buf = [UInt8](repeating: 0, count: 16)
        for _ in 0..<12 {
            #expect(write(busy, "ping", 4) == 4)
            #expect(read(busy, &buf, 16) == 4)
            usleep(250_000)
        }
        let (outcome, _) = TestClient.readAll(fd: idle, timeout: .seconds(5))
        #expect(outcome == .eof(bytes: 0), "the idle connection was closed")
        #expect(write(busy, "ping", 4) == 4)
        #expect(read(busy, &buf, 16) == 4, "the busy connection still works")
        #expect(try proxy.counter("idle_timeouts") == 1)
    }

    @Test("a connect that hangs times out after --connect-timeout and fails over", arguments: backends)
    func connectTimeoutFailsOver(backend: String) throws {
        let echo = try BackendServer(behavior: .echo)
        defer { echo.stop() }
        // A listener whose accept queue is full drops SYNs: connects to it hang.
        let blackHole = try RawListener(backlog: 0)
        var fillers: [Int32] = []
        defer { fillers.forEach { close($0) } }
        for _ in 0..<4 {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            _ = try LoopbackSocket.connect(s, port: blackHole.port)
            fillers.append(s)
        }
        #expect(blackHole.waitUntilQueued(timeout: 5), "a filler fills the accept queue")
        let (proxy, endpoint) = try MeshgateProcess.proxy(
            upstreams: [Endpoint(host: "127.0.0.1", port: blackHole.port), echo.endpoint], backend: backend,
            extra: ["--connect-timeout", "500ms", "--threads", "1"])
        let start = Date()
        let report = IntegrityRun.run(target: endpoint, sizes: [1000], concurrency: 1, deadline: .seconds(10))
        let elapsed = Date().timeIntervalSince(start)
        #expect(report.ok == 1, "\(report.failureSamples)")
        #expect(elapsed >= 0.4 && elapsed < 3, "took \(elapsed) s")
        #expect(try proxy.counter("connect_timeouts") == 1)
        #expect(try proxy.counter("upstream_failovers") == 1)
    }

    @Test("--max-connections 5 with 40 clients: at most 5 at once, everyone served", arguments: backends)
    func maxConnections(backend: String) throws {
        let (echo, proxy, endpoint) = try Self.proxyToEcho(backend: backend, extra: ["--max-connections", "5"])
        defer { echo.stop() }
        let box = ReportBox()
        let runner = Thread {
            box.set(IntegrityRun.run(target: endpoint, sizes: Array(repeating: 4 << 20, count: 40), concurrency: 40, deadline: .seconds(60)))
        }
        runner.start()
        var peak = 0
        let until = Date().addingTimeInterval(60)
        var report: IntegrityReport?
        while Date() < until {
            peak = max(peak, (try? proxy.counter("active")) ?? 0)
            if let r = box.wait(timeout: 0.05) { report = r; break }
        }
        #expect(report?.ok == 40, "\(report?.failureSamples ?? [])")
        #expect(peak <= 5, "peak \(peak) open connections")
        #expect(peak >= 1)
    }

    @Test("RLIMIT_NOFILE 64 and 200 clients: the proxy stays up, does not spin, serves everyone", arguments: backends)
    func descriptorPressure(backend: String) throws {
        let echo = try BackendServer(behavior: .echo, threads: 2)
        defer { echo.stop() }
        let (proxy, endpoint) = try MeshgateProcess.proxy(upstreams: [echo.endpoint], backend: backend, nofile: 64)
        let report = IntegrityRun.run(target: endpoint, sizes: Array(repeating: 64 << 10, count: 200), concurrency: 200, deadline: .seconds(120))
        #expect(proxy.process.isRunning, "the proxy survived")
        #expect(report.ok == 200, "\(report.failures) failures: \(report.failureSamples); proxy stats \((try? proxy.stats()) ?? [:]); log: \(proxy.stderr.suffix(3000))")
        #expect(report.mismatches == 0)
        let pauses = try proxy.counter("accept_pauses_emfile") + proxy.counter("descriptor_waits") + proxy.counter("accept_pauses_max_connections")
        #expect(pauses >= 1, "descriptor pressure was actually hit")
        #expect(proxy.stderr.contains("the descriptor limit (RLIMIT_NOFILE) holds"), "the lowered limit is logged")

        // Hold the proxy out of descriptors for 3 s with 100 idle clients: it must wait, not spin.
        let limitText = proxy.stderr.components(separatedBy: "holds ").dropFirst().first?.prefix { $0.isNumber } ?? ""
        let limit = Int(limitText) ?? -1
        #expect(limit > 0 && limit < 64)
        var idle: [Int32] = []
        for _ in 0..<100 { if let fd = try? TestClient.connect(endpoint) { idle.append(fd) } }
        // Starved once it holds as many as its (lowered) limit allows; the rest wait in the backlog.
        proxy.waitCounter("active") { $0 == limit }
        let cpuBefore = ProcStat.cpuSeconds(proxy.pid)
        sleep(3)
        let cpu = ProcStat.cpuSeconds(proxy.pid) - cpuBefore
        #expect(cpu < 0.5, "CPU time while starved of descriptors: \(cpu) s in 3 s")
        #expect(try proxy.counter("active") == limit, "open connections at the limit")
        idle.forEach { close($0) }
        // Once the clients are gone, it serves again.
        let again = IntegrityRun.run(target: endpoint, sizes: Array(repeating: 1000, count: 20), concurrency: 20, deadline: .seconds(30))
        #expect(again.ok == 20, "\(again.failureSamples)")
    }

    @Test("SIGTERM during 50 streams: all finish intact, new connects refused, exit 0", arguments: backends)
    func drainOnSigterm(backend: String) throws {
        let (echo, proxy, endpoint) = try Self.proxyToEcho(backend: backend, echoThreads: 2, extra: ["--drain-timeout", "60s"])
        defer { echo.stop() }
        let box = ReportBox()
        let runner = Thread {
            box.set(IntegrityRun.run(target: endpoint, sizes: Array(repeating: 24 << 20, count: 50), concurrency: 50, deadline: .seconds(120)))
        }
        runner.start()
        // Wait until all 50 are open, then ask the proxy to stop.
        proxy.waitCounter("active", timeout: 20) { $0 >= 50 }
        #expect(try proxy.counter("active") == 50)
        proxy.signal(SIGTERM)
        // Draining has begun (logged) and the listener is closed (a connect fails): only then
        // does "still running" say that it waits for the 50 streams.
        #expect(proxy.waitForDraining(), "\(proxy.stderr)")
        let refused = waitUntil(timeout: 5) {
            guard let fd = try? TestClient.connect(endpoint, timeout: .seconds(2)) else { return true }
            close(fd)
            return false
        }
        #expect(refused, "new connections are refused while draining")
        #expect(proxy.process.isRunning, "still draining")
        let report = box.wait(timeout: 150)
        #expect(report?.ok == 50, "\(report?.failureSamples ?? [])")
        #expect(report?.mismatches == 0)
        #expect(proxy.waitExit(timeout: 20) == 0)
    }

    /// An echo backend, a proxy to it with `--drain-timeout drainTimeout`, and a connection
    /// through the proxy that is known to flow (2 bytes echoed) and stays open.
    static func openEchoedConnection(backend: String, drainTimeout: String) throws -> (BackendServer, MeshgateProcess, Int32) {
        let (echo, proxy, endpoint) = try proxyToEcho(backend: backend, extra: ["--drain-timeout", drainTimeout])
        let fd: Int32
        do { fd = try TestClient.connect(endpoint) } catch { echo.stop(); throw error }
        #expect(write(fd, "hi", 2) == 2)
        var buf = [UInt8](repeating: 0, count: 8)
        #expect(read(fd, &buf, 8) == 2)
        return (echo, proxy, fd)
    }

    @Test("SIGTERM with a connection that never ends: reset at --drain-timeout, exit 0", arguments: backends)
    func drainDeadline(backend: String) throws {
        let (echo, proxy, fd) = try Self.openEchoedConnection(backend: backend, drainTimeout: "1s")
        defer { echo.stop() }
        defer { close(fd) }
        let start = Date()
        proxy.signal(SIGTERM)
        let status = proxy.waitExit(timeout: 10)
        let elapsed = Date().timeIntervalSince(start)
        #expect(status == 0)
        #expect(elapsed >= 0.9 && elapsed < 5, "exited after \(elapsed) s")
        let (outcome, _) = TestClient.readAll(fd: fd, timeout: .seconds(2))
        #expect(outcome.isReset, "a connection cut at the drain deadline must see a reset, got \(outcome)")
    }

    @Test("a second SIGTERM ends at once", arguments: backends)
    func secondSignalEndsAtOnce(backend: String) throws {
        let (echo, proxy, fd) = try Self.openEchoedConnection(backend: backend, drainTimeout: "60s")
        defer { echo.stop() }
        defer { close(fd) }
        proxy.signal(SIGTERM)
        #expect(proxy.waitForDraining(), "\(proxy.stderr)")
        #expect(proxy.process.isRunning, "draining, waiting for the open connection")
        let start = Date()
        proxy.signal(SIGTERM)
        let status = proxy.waitExit(timeout: 10)
        #expect(status == 0)
        #expect(Date().timeIntervalSince(start) < 2)
    }

    @Test("a client that stops reading: backpressure keeps the proxy's memory bounded", arguments: backends)
    func backpressureBoundsMemory(backend: String) throws {
        for extra in [[String](), ["--no-splice"]] {
            let source = try BackendServer(behavior: .source)
            defer { source.stop() }
            let (proxy, endpoint) = try MeshgateProcess.proxy(upstreams: [source.endpoint], backend: backend, extra: extra)
            usleep(200_000)
            let rssBefore = ProcStat.rssKiB(proxy.pid)
            let fd = try TestClient.connect(endpoint)
            defer { close(fd) }
            // Do not read for 3 s while the backend tries to push an endless stream.
            sleep(3)
            let pushed = source.stats.bytesOut
            let rssStalled = ProcStat.rssKiB(proxy.pid)
            #expect(pushed < 64 << 20, "the backend was held back (pushed \(pushed) bytes)")
            #expect(rssStalled - rssBefore < 8 * 1024, "RSS grew \(rssStalled - rssBefore) KiB with \(extra)")
            // Then read 1 GiB: the flow resumes and memory stays bounded.
            var buf = [UInt8](repeating: 0, count: 1 << 20)
            var total = 0
            var maxRSS = rssStalled
            let until = Date().addingTimeInterval(120)
            while total < 1 << 30 && Date() < until {
                let n = read(fd, &buf, buf.count)
                if n <= 0 { break }
                total += n
                if total % (64 << 20) < n { maxRSS = max(maxRSS, ProcStat.rssKiB(proxy.pid)) }
            }
            #expect(total >= 1 << 30, "read \(total) bytes")
            #expect(maxRSS - rssBefore < 8 * 1024, "RSS grew \(maxRSS - rssBefore) KiB while moving 1 GiB with \(extra)")
        }
    }
}
