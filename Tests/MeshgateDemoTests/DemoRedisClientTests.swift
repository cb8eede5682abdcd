import Foundation
import MeshgateTestKit
import Testing

@testable import MeshgateDemo

/// The demo's RESP client: its encoding, its reading of every reply kind (from a scripted
/// loopback server, replies split across reads), and a real redis-server (scripts/bootstrap
/// installs it).
@Suite struct DemoRedisClientTests {
    @Test("a command is an array of bulk strings, lengths in bytes")
    func encodesCommands() {
        #expect(String(decoding: DemoRedisClient.encode(["SET", "k", "vé"]), as: UTF8.self) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nvé\r\n")
        #expect(String(decoding: DemoRedisClient.encode(["PING"]), as: UTF8.self) == "*1\r\n$4\r\nPING\r\n")
    }

    @Test("simple strings, integers, errors, bulk strings (split across reads) and null bulks")
    func readsEveryReplyKind() throws {
        let server = try ScriptedServer(turns: [
            ["+PONG\r\n"], [":42\r\n"], ["-ERR wrong\r\n"], ["$5\r\nhel", "lo\r\n"], ["$-1\r\n"], ["$0\r\n\r\n"],
        ])
        let client = try DemoRedisClient(port: server.port, timeout: 5)
        #expect(try client.command(["PING"]) == "PONG")
        #expect(try client.command(["INCR", "n"]) == "42")
        #expect(try client.command(["NOPE"]) == "-ERR wrong")
        #expect(try client.command(["GET", "k"]) == "hello")
        #expect(try client.command(["GET", "missing"]) == nil)
        #expect(try client.command(["GET", "empty"]) == "")
        #expect(client.received == 7 + 5 + 12 + 11 + 5 + 6)
        let expectedSent = [["PING"], ["INCR", "n"], ["NOPE"], ["GET", "k"], ["GET", "missing"], ["GET", "empty"]].map(DemoRedisClient.encode)
        #expect(client.sent == expectedSent.map(\.count).reduce(0, +))
        #expect(server.clientBytes() == String(decoding: expectedSent.joined(), as: UTF8.self))
    }

    @Test("a reply of an unknown kind, and a connection that closes, are errors naming the command")
    func refusesWhatItCannotRead() throws {
        let server = try ScriptedServer(turns: [["*0\r\n"], []])
        let client = try DemoRedisClient(port: server.port, timeout: 5)
        let unknown = #expect(throws: DemoFailure.self) { try client.command(["KEYS", "*"]) }
        #expect(unknown?.description == "redis: an unexpected reply '*0' to KEYS")
        let closed = #expect(throws: DemoFailure.self) { try client.command(["PING"]) }
        #expect(closed?.description == "redis: the connection closed")
    }

    @Test("nothing listening: the error names the port")
    func connectionRefused() throws {
        let port = try LoopbackPorts.free()
        let refused = #expect(throws: DemoFailure.self) { try DemoRedisClient(port: port, timeout: 1) }
        #expect(refused?.description == "redis on 127.0.0.1:\(port): connection refused")
    }

    @Test("against a real redis-server: PING, SET, GET of 1 KiB, a missing key, an unknown command")
    func talksToRedisServer() throws {
        let executable = try #require(ExecutablePath.onPath("redis-server"), "redis-server is on PATH (scripts/bootstrap installs it)")
        let port = try LoopbackPorts.free()
        let folder = NSTemporaryDirectory() + "meshgate-demo-redis-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let server = try ChildProcess(
            [executable, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder])
        defer { server.kill() }
        let up = waitUntil(timeout: 10, every: 0.05) {
            guard let c = try? DemoRedisClient(port: port, timeout: 1) else { return false }
            return (try? c.command(["PING"])) == "PONG"
        }
        #expect(up, "redis-server answers PING: \(String(decoding: server.stdoutData, as: UTF8.self))")
        let client = try DemoRedisClient(port: port)
        let value = String(repeating: "0123456789abcdef", count: 64)
        #expect(try client.command(["SET", "demo:key", value]) == "OK")
        #expect(try client.command(["GET", "demo:key"]) == value)
        #expect(try client.command(["GET", "demo:none"]) == nil)
        #expect(try client.command(["INCR", "demo:n"]) == "1")
        #expect(try client.command(["NO-SUCH-COMMAND"])?.hasPrefix("-ERR") == true)
    }
}
