import Testing
@testable import MeshgateLoad

#if canImport(Glibc)
import Glibc
#endif

@Suite("BackendServer", .timeLimit(.minutes(1)))
struct BackendServerTests {
    /// A server with `behavior` and a client connected to it; close `fd`, then stop `server`.
    func connected(to behavior: BackendServer.Behavior) throws -> (server: BackendServer, fd: Int32) {
        let server = try BackendServer(behavior: behavior)
        do {
            return (server, try TestClient.connect(server.endpoint))
        } catch {
            server.stop()
            throw error
        }
    }

    @Test("echo returns the bytes, then EOF after the client's half-close")
    func echo() throws {
        let (server, fd) = try connected(to: .echo)
        defer { close(fd); server.stop() }
        #expect(server.port != 0)
        let sent = try TestClient.writeAll(fd: fd, pattern: 11, count: 100_000)
        TestClient.shutdownWrite(fd: fd)
        let (outcome, hash) = TestClient.readAll(fd: fd, timeout: .seconds(10))
        #expect(outcome == .eof(bytes: 100_000))
        #expect(hash == sent)
    }

    @Test("resetAfter resets the connection once enough bytes arrived")
    func resetAfter() throws {
        let (server, fd) = try connected(to: .resetAfter(1000))
        defer { close(fd); server.stop() }
        try TestClient.writeAll(fd: fd, pattern: 1, count: 1500)
        let (outcome, _) = TestClient.readAll(fd: fd, timeout: .seconds(5))
        #expect(outcome == .reset(bytes: 0))
        #expect(server.stats.resets == 1)
    }

    @Test("drainThenReply reads to EOF, hashes, then replies while the client's write side is shut")
    func drainThenReply() throws {
        let (server, fd) = try connected(to: .drainThenReply(70_000))
        defer { close(fd); server.stop() }
        let sent = try TestClient.writeAll(fd: fd, pattern: 3, count: 300_000)
        // Nothing comes back before the client's EOF.
        let (early, _) = TestClient.readAll(fd: fd, timeout: .milliseconds(200))
        #expect(early == .timeout(bytes: 0))
        TestClient.shutdownWrite(fd: fd)
        let (outcome, hash) = TestClient.readAll(fd: fd, timeout: .seconds(10))
        #expect(outcome == .eof(bytes: 70_000))
        #expect(hash == PatternStream.sha256(seed: BackendServer.replySeed, count: 70_000))
        let stats = server.stats
        #expect(stats.lastDrainSHA256 == sent)
        #expect(stats.lastDrainBytes == 300_000)
        #expect(stats.bytesIn == 300_000)
        #expect(stats.bytesOut == 70_000)
    }

    @Test("sink counts and discards; source streams until the client closes")
    func sinkAndSource() throws {
        let sink = try BackendServer(behavior: .sink)
        defer { sink.stop() }
        let fd = try TestClient.connect(sink.endpoint)
        try TestClient.writeAll(fd: fd, pattern: 2, count: 1 << 20)
        TestClient.shutdownWrite(fd: fd)
        #expect(TestClient.readAll(fd: fd, timeout: .seconds(5)).0 == .eof(bytes: 0))
        close(fd)
        #expect(sink.stats.bytesIn == 1 << 20)

        let source = try BackendServer(behavior: .source, threads: 2)
        defer { source.stop() }
        let s = try TestClient.connect(source.endpoint)
        let bytes = TestClient.read(fd: s, count: 600_000)
        #expect(bytes.count == 600_000)
        close(s)
    }

    @Test("stop closes open connections and is idempotent")
    func stop() throws {
        let server = try BackendServer(behavior: .echo, threads: 2)
        let fd = try TestClient.connect(server.endpoint)
        defer { close(fd) }
        try TestClient.writeAll(fd: fd, bytes: [1])
        #expect(TestClient.read(fd: fd, count: 1) == [1])
        #expect(server.stats.active == 1)
        server.stop()
        server.stop()
        let (outcome, _) = TestClient.readAll(fd: fd, timeout: .seconds(5))
        #expect(outcome != .timeout(bytes: 0))
        #expect(throws: LoadError.self) { _ = try TestClient.connect(server.endpoint, timeout: .seconds(1)) }
    }

    @Test("behaviors parse from their text")
    func behaviorText() {
        for b: BackendServer.Behavior in [.echo, .sink, .source, .pingPong, .hold, .drainThenReply(5), .resetAfter(0)] {
            #expect(BackendServer.Behavior.parse(b.description) == b)
        }
        #expect(BackendServer.Behavior.parse("nonsense") == nil)
    }
}
