import Foundation
import MeshgateAdmin
import Testing
import MeshgateTestKit

#if canImport(Glibc)
    import Glibc
#endif

/// Slow clients against the admin endpoint (issue 11, case 8): a request must arrive whole
/// within `AdminServer.requestTimeout` however many bytes trickle in, and clients that hold
/// connections without finishing a request cannot keep `/ready` and `/live` from answering.
@Suite("Admin endpoint under slow clients", .serialized)
struct AdminSlowClientTests {
    /// A gateway labelled `label`, the request deadline in seconds, and a raw client connected to
    /// its admin endpoint (close it).
    static func slowClient(_ label: String) throws -> (AdminTestGateway, Double, TricklingClient) {
        let g = try AdminTestGateway(label: label)
        return (g, Double(AdminServer.requestTimeout.nanoseconds) / 1e9, try TricklingClient(g.adminAddress))
    }

    @Test("a client trickling a request head is closed at the request deadline, though it keeps sending")
    func tricklingClientIsClosedAtTheDeadline() throws {
        let (g, timeout, client) = try Self.slowClient("trickle")
        defer { client.close() }
        let started = Date()
        // One byte every 300 ms: far more often than any idle timeout, never a whole head.
        var closedAfter: Double?
        while Date().timeIntervalSince(started) < timeout + 4 {
            if !client.sendByte() || client.peerClosed() {
                closedAfter = Date().timeIntervalSince(started)
                break
            }
            usleep(300_000)
        }
        let seconds = try #require(closedAfter, "still open \(timeout + 4) s after the accept, bytes arriving every 300 ms")
        #expect(seconds >= timeout - 0.5, "closed after \(seconds) s: before the \(timeout) s deadline")
        #expect(seconds <= timeout + 2, "closed after \(seconds) s: well after the \(timeout) s deadline")
        #expect(try g.get("/live").status == 200)
    }

    @Test("a keep-alive connection must send its next request within the deadline of the previous answer")
    func keepAliveWaitsAtMostTheDeadline() throws {
        let (g, timeout, client) = try Self.slowClient("keepalive")
        defer {
            client.close()
            withExtendedLifetime(g) {}
        }
        #expect(client.send(Array("GET /live HTTP/1.1\r\nHost: x\r\n\r\n".utf8)))
        let answered = Date()
        #expect(client.waitForData(seconds: 2).contains("200 OK"), "the first request is answered")
        let closed = waitUntil(timeout: timeout + 3, every: 0.1) { client.peerClosed() }
        let seconds = Date().timeIntervalSince(answered)
        try #require(closed, "an idle keep-alive connection stayed open \(timeout + 3) s")
        #expect(seconds >= timeout - 0.5 && seconds <= timeout + 2, "closed \(seconds) s after the answer")
    }

    @Test("the admin listener queues a burst of reconnects far beyond its slots, so no probe's SYN is dropped and retried a second later")
    func acceptQueueHoldsABurst() throws {
        let g = try AdminTestGateway(label: "backlog")
        let port = try #require(g.adminAddress.split(separator: ":").last.map(String.init))
        // For a listening socket, ss reports the accept queue's limit as Send-Q.
        let out = try ChildProcess.check([ChildProcess.which("ss"), "-Hltn", "sport = :\(port)"], timeout: 10)
        let fields = try #require(out.split(separator: "\n").first, "ss lists no listener on \(port)").split(separator: " ")
        let limit = try #require(fields.count > 2 ? Int(fields[2]) : nil, "ss line: \(out)")
        #expect(limit >= Int(AdminServer.acceptBacklog) && limit >= 4 * AdminServer.maxConnections, "accept queue \(limit) for \(AdminServer.maxConnections) slots")
    }

    @Test("200 clients trickling bytes and reconnecting: /ready and /live still answer within a second")
    func probesAnswerUnderTwoHundredSlowClients() throws {
        let g = try AdminTestGateway(label: "slowloris")
        try g.waitReady()
        let swarm = TricklingSwarm(address: g.adminAddress, count: 200)
        swarm.start()
        defer { swarm.stop() }
        #expect(waitUntil(timeout: 10) { swarm.connectedOnce >= 200 }, "200 slow clients connected (\(swarm.connectedOnce))")
        // Probe for longer than one request deadline, so slots freed by it and slots taken
        // from waiting clients both happen while the swarm presses on.
        var answers: [(path: String, status: Int?, seconds: Double, error: String)] = []
        let until = Date().addingTimeInterval(Double(AdminServer.requestTimeout.nanoseconds) / 1e9 + 2)
        var i = 0
        while Date() < until {
            let path = i % 2 == 0 ? "/ready" : "/live"
            i += 1
            let t0 = Date()
            do {
                let r = try AdminClient.get(g.adminAddress, path: path, timeout: .seconds(3))
                answers.append((path, r.status, Date().timeIntervalSince(t0), ""))
            } catch {
                answers.append((path, nil, Date().timeIntervalSince(t0), "\(error)"))
            }
            usleep(250_000)
        }
        #expect(answers.count >= 10)
        let failed = answers.filter { $0.status != 200 || $0.seconds > 1 }
        #expect(failed.isEmpty, "probes not answered 200 within 1 s: \(failed.prefix(5)) of \(answers.count)")
        #expect(swarm.connectedOnce >= 200 && swarm.bytesSent > 200, "the swarm kept trickling (\(swarm.bytesSent) bytes)")
    }
}

/// A TCP client of the admin endpoint that sends bytes one at a time and never a whole request.
final class TricklingClient {
    private(set) var fd: Int32

    init(_ address: String) throws {
        fd = try Self.connect(address)
    }

    static func connect(_ address: String) throws -> Int32 {
        let fd = try connectIPv4(address)
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// The head it trickles: a request line and a header that never ends.
    static let head = Array("GET /ready HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8)
    private var sent = 0

    /// Sends the next byte; false when the connection is gone.
    func sendByte() -> Bool {
        let byte = sent < Self.head.count ? Self.head[sent] : UInt8(ascii: "a")
        sent += 1
        return send([byte])
    }

    func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// True when the server closed or reset the connection (checked without blocking).
    func peerClosed() -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 0) > 0 else { return false }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        return n == 0 || (n < 0 && errno != EAGAIN)
    }

    /// What arrives within `seconds` (stops at the first chunk).
    func waitForData(seconds: Double) -> String {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(seconds * 1000)) > 0 else { return "" }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

/// `count` slow clients on one thread: each sends one byte a second and never a whole request;
/// one whose connection is gone connects again at the next tick.
final class TricklingSwarm: @unchecked Sendable {
    private let address: String
    private let count: Int
    private let stopped = LockedBox(false)
    private let connects = LockedBox(0)
    private let bytes = LockedBox(0)
    private let done = DispatchSemaphore(value: 0)

    init(address: String, count: Int) {
        self.address = address
        self.count = count
    }

    /// Connections made so far (first ones and reconnects).
    var connectedOnce: Int { connects.value }
    var bytesSent: Int { bytes.value }

    func start() {
        Thread { [self] in
            var clients: [TricklingClient?] = Array(repeating: nil, count: count)
            // Bounded: stops when told, and in any case after 60 s.
            let end = Date().addingTimeInterval(60)
            while !stopped.value && Date() < end {
                for i in 0..<count where !stopped.value {
                    if let c = clients[i], !c.peerClosed(), c.sendByte() {
                        bytes.value += 1
                        continue
                    }
                    clients[i]?.close()
                    clients[i] = try? TricklingClient(address)
                    if let c = clients[i] {
                        connects.value += 1
                        if c.sendByte() { bytes.value += 1 }
                    }
                }
                for _ in 0..<10 where !stopped.value { usleep(100_000) }
            }
            for c in clients { c?.close() }
            done.signal()
        }.start()
    }

    func stop() {
        stopped.value = true
        _ = done.wait(timeout: .now() + 10)
    }
}
