import Histogram

#if canImport(Glibc)
import Glibc
#endif

/// Connection rate: `concurrency` slots each connect, send 1 byte, read the 1-byte echo, close, and
/// start over, for the duration. Reports connections/s, failures and the connection time percentiles.
public enum ConnRateBench {
    /// A connection that takes longer than this counts as failed.
    public static let connectionTimeout: UInt64 = 5_000_000_000

    private struct Partial {
        var completed = 0
        var failures = ErrorSamples()
        var seconds = 0.0
        var latency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }

    /// Runs `concurrency` connect/echo/close loops against an `echo` backend behind the target.
    public static func run(_ options: BenchOptions, concurrency: Int) -> BenchResult {
        var result = BenchResult(scenario: "connrate", target: options.target.description,
                                 params: [("concurrency", String(concurrency))] + options.commonParams)
        let address: SocketAddress
        do { address = try SocketAddress(resolving: options.target) } catch { return result.failing("\(error)") }
        ProcessResources.raiseFileLimit()
        let endAt = MonotonicTime.now() + options.duration.nanoseconds
        let progress = BenchProgress(label: "connrate", duration: options.duration, quiet: options.quiet)
        let done = LockedValue<Int>(0)
        let startedAt = MonotonicTime.now()
        let parts = EngineThread.runAll(count: options.threads(for: concurrency)) { index in
            worker(address: address, slots: options.share(of: concurrency, thread: index), endAt: endAt,
                   done: done, progress: index == 0 ? progress : nil, startedAt: startedAt)
        }
        var completed = 0
        var failures = ErrorSamples()
        var rate = 0.0
        var latency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        for p in parts {
            completed += p.completed
            failures.merge(p.failures)
            if p.seconds > 0 { rate += Double(p.completed) / p.seconds }
            latency.add(p.latency)
        }
        result.results = [
            ("conn_per_s", rate),
            ("connections", Double(completed)),
            ("failures", Double(failures.count)),
            ("p50_us", Double(latency.valueAtPercentile(50)) / 1000),
            ("p99_us", Double(latency.valueAtPercentile(99)) / 1000),
        ]
        result.errors = failures.samples
        result.fatal = completed == 0
        return result
    }

    private enum Phase { case idle, connecting, awaitingEcho }

    private final class Slot {
        var fd: Int32 = -1
        var phase = Phase.idle
        var startedAt: UInt64 = 0
        var retryAt: UInt64 = 0
    }

    private static func worker(address: SocketAddress, slots count: Int, endAt: UInt64, done: LockedValue<Int>,
                               progress: BenchProgress?, startedAt: UInt64) -> Partial {
        var part = Partial()
        guard count > 0, let poller = try? Poller() else { return part }
        let slots = (0..<count).map { _ in Slot() }
        var byte: UInt8 = 0x2A
        var unreported = 0

        func finish(_ slot: Slot) {
            if slot.fd >= 0 { close(slot.fd) }
            slot.fd = -1
            slot.phase = .idle
        }
        func fail(_ slot: Slot, _ why: String) {
            part.failures.add(why)
            finish(slot)
            slot.retryAt = MonotonicTime.now() + 10_000_000  // back off a little after a failure
        }
        func start(_ slot: Slot, index: Int, now: UInt64) {
            slot.startedAt = now
            do {
                slot.fd = try Socket.connectNonblocking(address)
                slot.phase = .connecting
                try poller.add(slot.fd, events: Poller.output, token: UInt64(index))
            } catch {
                fail(slot, "\(error)")
            }
        }

        let start0 = MonotonicTime.now()
        while true {
            let now = MonotonicTime.now()
            if now >= endAt { break }
            var nextWake = endAt
            for (i, slot) in slots.enumerated() {
                switch slot.phase {
                case .idle:
                    if slot.retryAt <= now { start(slot, index: i, now: now) } else { nextWake = min(nextWake, slot.retryAt) }
                case .connecting, .awaitingEcho:
                    if now - slot.startedAt > connectionTimeout { fail(slot, "no echo within 5 s") }
                }
            }
            let timeout = max(1, min(MonotonicTime.millisUntil(nextWake, cap: 100), 100))
            poller.wait(timeoutMillis: timeout) { event in
                let slot = slots[Int(event.token)]
                switch slot.phase {
                case .idle:
                    return
                case .connecting:
                    let e = Socket.pendingError(slot.fd)
                    if e != 0 { return fail(slot, "connect: \(errnoName(e))") }
                    switch withUnsafeBytes(of: &byte, { Socket.send(slot.fd, $0) }) {
                    case .bytes:
                        slot.phase = .awaitingEcho
                        poller.modify(slot.fd, events: Poller.input, token: event.token)
                    case .wouldBlock, .eof:
                        return
                    case .failed(let e):
                        fail(slot, "send: \(errnoName(e))")
                    }
                case .awaitingEcho:
                    var got: UInt8 = 0
                    switch withUnsafeMutableBytes(of: &got, { Socket.receive(slot.fd, into: $0) }) {
                    case .bytes:
                        let now = MonotonicTime.now()
                        part.latency.record(now - slot.startedAt)
                        part.completed += 1
                        unreported += 1
                        finish(slot)
                        if now < endAt { start(slot, index: Int(event.token), now: now) }
                    case .wouldBlock:
                        return
                    case .eof:
                        fail(slot, "closed before the echo")
                    case .failed(let e):
                        fail(slot, "recv: \(errnoName(e))")
                    }
                }
            }
            done.flush(&unreported)
            progress?.tick {
                let secs = Double(MonotonicTime.now() - startedAt) / 1e9
                return "\(Int((Double(done.value) / secs).rounded())) conn/s"
            }
        }
        part.seconds = Double(min(MonotonicTime.now(), endAt) - start0) / 1e9
        for slot in slots { finish(slot) }
        return part
    }
}
