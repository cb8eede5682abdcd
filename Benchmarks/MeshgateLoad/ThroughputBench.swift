#if canImport(Glibc)
import Glibc
#endif

/// Bulk throughput: streams send (up, to a `sink` backend) or receive (down, from a `source` backend)
/// as fast as they can for the duration. Reports aggregate Gbit/s and MiB/s.
public enum ThroughputBench {
    /// Which way the bytes flow.
    public enum Direction: String, Sendable, CaseIterable {
        /// Client to backend (use a `sink` backend).
        case up
        /// Backend to client (use a `source` backend).
        case down
    }

    private struct Partial {
        var bytes: Int64 = 0
        var seconds: Double = 0
        var streams = 0
        var errors = ErrorSamples()
    }

    /// Runs `streams` concurrent streams in `direction`, each `send`/`recv` moving up to `ioSize` bytes.
    public static func run(_ options: BenchOptions, streams: Int, direction: Direction = .up, ioSize: Int = 256 * 1024) -> BenchResult {
        var result = BenchResult(scenario: "throughput", target: options.target.description,
                                 params: [("streams", String(streams)), ("direction", direction.rawValue)] + options.commonParams)
        let address: SocketAddress
        do { address = try SocketAddress(resolving: options.target) } catch { return result.failing("\(error)") }
        let endAt = MonotonicTime.now() + options.duration.nanoseconds
        let progress = BenchProgress(label: "throughput", duration: options.duration, quiet: options.quiet)
        let moved = LockedValue<Int64>(0)
        let threadCount = options.threads(for: streams)
        let startedAt = MonotonicTime.now()
        let parts = EngineThread.runAll(count: threadCount) { index -> Partial in
            worker(address: address, streams: options.share(of: streams, thread: index), direction: direction,
                   ioSize: ioSize, endAt: endAt, moved: moved, progress: index == 0 ? progress : nil, startedAt: startedAt)
        }
        var errors = ErrorSamples()
        var rate = 0.0
        var total: Int64 = 0
        var connected = 0
        for p in parts {
            errors.merge(p.errors)
            total += p.bytes
            connected += p.streams
            if p.seconds > 0 { rate += Double(p.bytes) / p.seconds }
        }
        result.results = [
            ("gbps", rate * 8 / 1e9),
            ("mibps", rate / 1_048_576),
            ("bytes", Double(total)),
            ("streams_ok", Double(connected)),
            ("errors", Double(errors.count)),
        ]
        result.errors = errors.samples
        result.fatal = connected == 0 || total == 0
        return result
    }

    private final class Stream {
        let fd: Int32
        var connected = false
        var open = true
        init(fd: Int32) { self.fd = fd }
    }

    private static func worker(address: SocketAddress, streams count: Int, direction: Direction, ioSize: Int, endAt: UInt64,
                               moved: LockedValue<Int64>, progress: BenchProgress?, startedAt: UInt64) -> Partial {
        var part = Partial()
        guard count > 0, let poller = try? Poller() else { return part }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ioSize, alignment: 8)
        defer { buffer.deallocate() }
        var pattern = PatternStream(seed: 0x7468_726F)
        pattern.fill(buffer)
        var streams: [Stream] = []
        for _ in 0..<count {
            do {
                let fd = try Socket.connectNonblocking(address)
                try poller.add(fd, events: Poller.output | (direction == .down ? Poller.input : 0), token: UInt64(streams.count))
                streams.append(Stream(fd: fd))
            } catch {
                part.errors.add("connect: \(error)")
            }
        }
        let start = MonotonicTime.now()
        var unreported: Int64 = 0
        var openCount = streams.count
        while openCount > 0 {
            let now = MonotonicTime.now()
            if now >= endAt { break }
            poller.wait(timeoutMillis: MonotonicTime.millisUntil(endAt, cap: 100)) { event in
                let s = streams[Int(event.token)]
                guard s.open else { return }
                if !s.connected {
                    let e = Socket.pendingError(s.fd)
                    if e != 0 {
                        part.errors.add("connect: \(errnoName(e))")
                        s.open = false
                        openCount -= 1
                        poller.remove(s.fd)
                        return
                    }
                    s.connected = true
                    part.streams += 1
                    if direction == .down { poller.modify(s.fd, events: Poller.input, token: event.token) }
                }
                for _ in 0..<8 {
                    let step = direction == .up
                        ? Socket.send(s.fd, UnsafeRawBufferPointer(buffer))
                        : Socket.receive(s.fd, into: buffer)
                    switch step {
                    case .bytes(let n):
                        part.bytes += Int64(n)
                        unreported += Int64(n)
                        continue
                    case .wouldBlock:
                        break
                    case .eof:
                        part.errors.add("stream closed by the peer")
                        s.open = false
                    case .failed(let e):
                        part.errors.add("\(direction == .up ? "send" : "recv"): \(errnoName(e))")
                        s.open = false
                    }
                    break
                }
                if !s.open {
                    openCount -= 1
                    poller.remove(s.fd)
                }
            }
            moved.flush(&unreported)
            progress?.tick {
                let secs = Double(MonotonicTime.now() - startedAt) / 1e9
                let bytes = moved.value
                return String(format3(Double(bytes) * 8 / secs / 1e9)) + " Gbit/s"
            }
        }
        part.seconds = Double(min(MonotonicTime.now(), max(endAt, start + 1)) - start) / 1e9
        for s in streams { close(s.fd) }
        return part
    }
}

/// `v` with 3 decimals, for progress lines.
func format3(_ v: Double) -> String {
    BenchResult.format((v * 1000).rounded() / 1000)
}
