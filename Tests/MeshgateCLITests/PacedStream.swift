import Foundation
import MeshgateLoad
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

/// A long-lived echo stream that sends `chunk` bytes of its pattern every `interval`, reads the
/// echo back, and on `finish()` half-closes and checks the whole exchange: every byte back,
/// the same SHA-256 as sent, and a clean EOF (so a truncated or reset stream never passes).
class PacedStream: @unchecked Sendable {
    let fd: Int32
    let chunk: Int
    let intervalMicros: UInt32
    /// Names the stream in failure messages ("paced stream", "good stream").
    let label: String
    private var sendStream: PatternStream
    private var sent = SHA256Hasher()
    private var got = SHA256Hasher()
    private let lock = NSLock()
    private var echoed = 0
    private var exchanges = 0
    private var failure: String?
    private var stopRequested = false
    private let stopped = DispatchSemaphore(value: 0)
    private var started = false

    /// Connects and completes one exchange (so the stream is known to flow end to end).
    init(_ endpoint: Endpoint, seed: UInt64, chunk: Int = 4096, intervalMicros: UInt32 = 20_000, label: String = "paced stream") throws {
        self.chunk = chunk
        self.intervalMicros = intervalMicros
        self.label = label
        sendStream = PatternStream(seed: seed)
        fd = try TestClient.connect(endpoint)
        do { try exchange() } catch {
            close(fd)
            throw error
        }
    }

    private func exchange() throws {
        var bytes = [UInt8](repeating: 0, count: chunk)
        bytes.withUnsafeMutableBytes { sendStream.fill($0) }
        sent.update(bytes: bytes)
        try TestClient.writeAll(fd: fd, bytes: bytes, timeout: .seconds(10))
        let back = TestClient.read(fd: fd, count: chunk, timeout: .seconds(10))
        got.update(bytes: back)
        lock.withLock {
            echoed += back.count
            exchanges += 1
        }
        guard back.count == chunk else {
            throw TestFailure("\(label): \(back.count) of \(chunk) bytes echoed after \(progress) bytes")
        }
    }

    /// Exchanges on a background thread, one chunk every `intervalMicros`, until `finish()`.
    func start() {
        started = true
        Thread {
            while !self.lock.withLock({ self.stopRequested }) {
                do { try self.exchange() } catch {
                    self.lock.withLock { self.failure = "\(error)" }
                    break
                }
                usleep(self.intervalMicros)
            }
            self.stopped.signal()
        }.start()
    }

    /// Bytes echoed so far.
    var progress: Int { lock.withLock { echoed } }

    /// Chunks exchanged so far.
    var exchangeCount: Int { lock.withLock { exchanges } }

    /// Waits until more than `bytes` have been echoed.
    func waitProgress(beyond bytes: Int, timeout: Double = 10) -> Bool {
        waitUntil(timeout: timeout) { self.progress > bytes }
    }

    /// Stops the exchanges, half-closes and reads to EOF. Returns nil when the stream is intact
    /// (every byte echoed, same SHA-256, clean EOF), else what went wrong.
    func finish() -> String? {
        if started {
            lock.withLock { stopRequested = true }
            if stopped.wait(timeout: .now() + 30) == .timedOut { return "\(label): the exchange thread did not stop" }
            started = false
        }
        if let failed = lock.withLock({ failure }) { return failed }
        TestClient.shutdownWrite(fd: fd)
        let (outcome, _) = TestClient.readAll(fd: fd, timeout: .seconds(10))
        guard outcome == .eof(bytes: 0) else { return "\(label): ended with \(outcome) instead of a clean EOF after \(progress) bytes" }
        let s = sent.finalize()
        let g = got.finalize()
        guard s == g else { return "\(label): SHA-256 mismatch over \(progress) bytes (sent \(s.prefix(12)), got \(g.prefix(12)))" }
        return nil
    }

    deinit {
        if started {
            lock.withLock { stopRequested = true }
            _ = stopped.wait(timeout: .now() + 30)
        }
        close(fd)
    }
}

/// An echo stream that runs alongside refusals: a `PacedStream` of 32 KiB chunks, about one
/// every 5 ms.
final class GoodStream: PacedStream, @unchecked Sendable {
    /// Connects and completes one exchange (so the stream is known to flow end to end).
    init(_ endpoint: Endpoint, seed: UInt64 = 0x600D_5EED) throws {
        try super.init(endpoint, seed: seed, chunk: 32 * 1024, intervalMicros: 5_000, label: "good stream")
    }

    /// Connects, retrying (up to `attempts`) while the first exchange fails, e.g. because the
    /// connection went to an upstream that refuses it.
    static func connect(_ endpoint: Endpoint, attempts: Int, seed: UInt64 = 0x600D_5EED) throws -> (GoodStream, failedAttempts: Int) {
        var errors: [String] = []
        for _ in 0..<attempts {
            do { return (try GoodStream(endpoint, seed: seed), errors.count) } catch { errors.append("\(error)") }
        }
        throw TestFailure("no good stream after \(attempts) attempts: \(errors)")
    }
}
