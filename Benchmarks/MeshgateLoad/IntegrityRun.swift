#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim  // SHUT_WR: in whole-module (release) builds glibc's macro resolves only with the shim imported

/// An end-to-end byte integrity check through a target (a proxy in front of an `echo` backend, or the
/// backend itself): each connection sends `size` pattern bytes, shuts down its write side, reads the
/// answer to EOF, and compares the SHA-256 and length of what it sent and what came back.
public enum IntegrityRun {
    /// Runs `sizes.count` connections, at most `concurrency` open at once, on the calling thread.
    /// Connections still unfinished at `deadline` are closed and counted as failures.
    public static func run(target: Endpoint, sizes: [Int], concurrency: Int, deadline: Duration = .seconds(120)) -> IntegrityReport {
        var report = IntegrityReport(connections: sizes.count, bytesEachWay: sizes.reduce(Int64(0)) { $0 + Int64($1) })
        guard !sizes.isEmpty else { return report }
        let address: SocketAddress
        let poller: Poller
        do {
            address = try SocketAddress(resolving: target)
            poller = try Poller()
        } catch {
            report.failures = sizes.count
            report.addSample("setup: \(error)")
            return report
        }
        var engine = IntegrityEngine(address: address, poller: poller, sizes: sizes, report: report)
        engine.run(limit: max(1, concurrency), until: MonotonicTime.now() + deadline.nanoseconds)
        return engine.report
    }

    /// The pattern seed of connection `index` (distinct per connection, never `BackendServer.replySeed`).
    public static func seed(forConnection index: Int) -> UInt64 {
        0x1A7E_6A17_0000_0000 | UInt64(index)
    }
}

/// The event loop behind `IntegrityRun`.
struct IntegrityEngine {
    private static let chunk = 64 * 1024

    let address: SocketAddress
    let poller: Poller
    let sizes: [Int]
    var report: IntegrityReport
    private var connections: [IntegrityConnection?]
    private var nextIndex = 0
    private var open = 0
    private var done = 0
    private let scratch: UnsafeMutableRawBufferPointer

    init(address: SocketAddress, poller: Poller, sizes: [Int], report: IntegrityReport) {
        self.address = address
        self.poller = poller
        self.sizes = sizes
        self.report = report
        connections = Array(repeating: nil, count: sizes.count)
        scratch = .allocate(byteCount: 256 * 1024, alignment: 8)
    }

    mutating func run(limit: Int, until deadline: UInt64) {
        defer { scratch.deallocate() }
        while done < sizes.count {
            while open < limit, nextIndex < sizes.count { start(nextIndex); nextIndex += 1 }
            if done >= sizes.count { break }
            if MonotonicTime.now() >= deadline { break }
            var ready: [PollEvent] = []
            poller.wait(timeoutMillis: MonotonicTime.millisUntil(deadline, cap: 200)) { ready.append($0) }
            for event in ready {
                guard let conn = connections[Int(event.token)], !conn.finished else { continue }
                handle(conn, event)
            }
        }
        // Whatever is left ran out of time.
        for i in 0..<sizes.count {
            if let conn = connections[i] {
                fail(conn, "connection \(i) (\(sizes[i]) bytes): deadline exceeded with \(conn.received) bytes back", reset: false)
            } else if i >= nextIndex {
                report.failures += 1
                report.addSample("connection \(i): not started before the deadline")
                done += 1
            }
        }
    }

    private mutating func start(_ index: Int) {
        let conn = IntegrityConnection(index: index, size: sizes[index], seed: IntegrityRun.seed(forConnection: index))
        connections[index] = conn
        open += 1
        do {
            conn.fd = try Socket.makeTCP(family: address.family)
        } catch {
            fail(conn, "connection \(index): \(error)", reset: false)
            return
        }
        let e = Socket.startConnect(conn.fd, to: address)
        if e != 0 {
            fail(conn, "connection \(index): connect: \(errnoName(e))", reset: Socket.isReset(e))
            return
        }
        conn.interest = Poller.input | Poller.output
        do { try poller.add(conn.fd, events: conn.interest, token: UInt64(index)) } catch {
            fail(conn, "connection \(index): \(error)", reset: false)
        }
    }

    private mutating func handle(_ conn: IntegrityConnection, _ event: PollEvent) {
        if !conn.connected {
            guard event.writable || event.readable else { return }
            let e = Socket.pendingError(conn.fd)
            if e != 0 {
                fail(conn, "connection \(conn.index): connect: \(errnoName(e))", reset: Socket.isReset(e))
                return
            }
            conn.connected = true
        }
        if event.writable, !conn.writeShut {
            writeSome(conn)
            if conn.finished { return }
        }
        if event.readable { readSome(conn) }
    }

    private mutating func writeSome(_ conn: IntegrityConnection) {
        while true {
            if conn.pendingOffset < conn.pending.count {
                let step = conn.pending.withUnsafeBytes { Socket.send(conn.fd, UnsafeRawBufferPointer(rebasing: $0[conn.pendingOffset...])) }
                switch step {
                case .bytes(let n):
                    conn.pendingOffset += n
                    continue
                case .wouldBlock, .eof:
                    return
                case .failed(let e):
                    fail(conn, "connection \(conn.index): send after \(conn.size - conn.sendRemaining) bytes: \(errnoName(e))", reset: Socket.isReset(e))
                    return
                }
            }
            if conn.sendRemaining == 0 {
                _ = shutdown(conn.fd, Int32(SHUT_WR))
                conn.writeShut = true
                conn.pending = []
                conn.interest = Poller.input
                poller.modify(conn.fd, events: conn.interest, token: UInt64(conn.index))
                return
            }
            let n = min(conn.sendRemaining, Self.chunk)
            let part = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<n])
            conn.sendStream.fill(part)
            conn.sendHasher.update(UnsafeRawBufferPointer(part))
            conn.sendRemaining -= n
            // Send straight from the scratch buffer; keep only what the socket did not take.
            var sent = 0
            while sent < n {
                switch Socket.send(conn.fd, UnsafeRawBufferPointer(rebasing: part[sent...])) {
                case .bytes(let k):
                    sent += k
                case .wouldBlock, .eof:
                    conn.pending = Array(UnsafeRawBufferPointer(rebasing: part[sent...]))
                    conn.pendingOffset = 0
                    return
                case .failed(let e):
                    fail(conn, "connection \(conn.index): send after \(conn.size - conn.sendRemaining - n + sent) bytes: \(errnoName(e))", reset: Socket.isReset(e))
                    return
                }
            }
        }
    }

    private mutating func readSome(_ conn: IntegrityConnection) {
        for _ in 0..<16 {
            switch Socket.receive(conn.fd, into: scratch) {
            case .bytes(let n):
                conn.received += n
                if conn.received > conn.size {
                    fail(conn, "connection \(conn.index): extra answer (\(conn.received) bytes back for \(conn.size) sent)", reset: false)
                    return
                }
                conn.recvHasher.update(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
            case .wouldBlock:
                return
            case .eof:
                complete(conn)
                return
            case .failed(let e):
                fail(conn, "connection \(conn.index): recv after \(conn.received) of \(conn.size) bytes: \(errnoName(e))", reset: Socket.isReset(e))
                return
            }
        }
    }

    private mutating func complete(_ conn: IntegrityConnection) {
        if !conn.writeShut {
            fail(conn, "connection \(conn.index): EOF after \(conn.received) bytes, before all \(conn.size) bytes were sent", reset: false)
            return
        }
        if conn.received != conn.size {
            fail(conn, "connection \(conn.index): short answer (\(conn.received) of \(conn.size) bytes)", reset: false)
            return
        }
        let sent = conn.sendHasher.finalize()
        let got = conn.recvHasher.finalize()
        if sent == got {
            report.ok += 1
        } else {
            report.mismatches += 1
            report.addSample("connection \(conn.index): SHA-256 mismatch over \(conn.size) bytes (sent \(sent.prefix(12))…, got \(got.prefix(12))…)")
        }
        close(conn)
    }

    private mutating func fail(_ conn: IntegrityConnection, _ why: String, reset: Bool) {
        report.failures += 1
        if reset { report.resets += 1 }
        report.addSample(why)
        close(conn)
    }

    private mutating func close(_ conn: IntegrityConnection) {
        conn.finished = true
        if conn.fd >= 0 {
            Glibc.close(conn.fd)
            conn.fd = -1
        }
        conn.pending = []
        connections[conn.index] = nil
        open -= 1
        done += 1
    }
}
