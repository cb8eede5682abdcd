import Histogram

#if canImport(Glibc)
import Glibc
#endif

/// Request/response latency: `concurrency` connections each send a `size`-byte message to an `echo`
/// backend and wait for it to come back, in a closed loop. Reports p50/p99/p99.9/max in µs (HdrHistogram)
/// and requests/s. The first tenth of the duration (at most 1 s) is a warm-up and is not recorded.
public enum PingPongBench {
    private struct Partial {
        var requests = 0
        var seconds = 0.0
        var errors = ErrorSamples()
        var connected = 0
        var latency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }

    /// Runs the closed-loop ping-pong.
    public static func run(_ options: BenchOptions, concurrency: Int, size: Int = 64) -> BenchResult {
        var result = BenchResult(scenario: "pingpong", target: options.target.description,
                                 params: [("concurrency", String(concurrency)), ("size", String(size))] + options.commonParams)
        let address: SocketAddress
        do { address = try SocketAddress(resolving: options.target) } catch { return result.failing("\(error)") }
        let now = MonotonicTime.now()
        let endAt = now + options.duration.nanoseconds
        let warmupEnd = now + min(options.duration.nanoseconds / 10, 1_000_000_000)
        let progress = BenchProgress(label: "pingpong", duration: options.duration, quiet: options.quiet)
        let done = LockedValue<Int>(0)
        let parts = EngineThread.runAll(count: options.threads(for: concurrency)) { index in
            worker(address: address, connections: options.share(of: concurrency, thread: index), size: max(1, size),
                   warmupEnd: warmupEnd, endAt: endAt, done: done, progress: index == 0 ? progress : nil)
        }
        var latency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        var errors = ErrorSamples()
        var rate = 0.0
        var requests = 0
        var connected = 0
        for p in parts {
            latency.add(p.latency)
            errors.merge(p.errors)
            requests += p.requests
            connected += p.connected
            if p.seconds > 0 { rate += Double(p.requests) / p.seconds }
        }
        result.results = [
            ("rps", rate),
            ("p50_us", Double(latency.valueAtPercentile(50)) / 1000),
            ("p99_us", Double(latency.valueAtPercentile(99)) / 1000),
            ("p999_us", Double(latency.valueAtPercentile(99.9)) / 1000),
            ("max_us", Double(latency.max) / 1000),
            ("requests", Double(requests)),
            ("errors", Double(errors.count)),
        ]
        result.errors = errors.samples
        result.fatal = requests == 0
        return result
    }

    private final class Conn {
        let fd: Int32
        var connected = false
        var open = true
        var sentAt: UInt64 = 0
        var sendOffset = 0
        var received = 0
        init(fd: Int32) { self.fd = fd }
    }

    private static func worker(address: SocketAddress, connections count: Int, size: Int, warmupEnd: UInt64, endAt: UInt64,
                               done: LockedValue<Int>, progress: BenchProgress?) -> Partial {
        var part = Partial()
        guard count > 0, let poller = try? Poller() else { return part }
        let message = PatternStream.bytes(seed: 0x7069_6E67, count: size)
        let inbox = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 64 * 1024), alignment: 8)
        defer { inbox.deallocate() }
        var conns: [Conn] = []
        for _ in 0..<count {
            do {
                let fd = try Socket.connectNonblocking(address)
                try poller.add(fd, events: Poller.output, token: UInt64(conns.count))
                conns.append(Conn(fd: fd))
            } catch {
                part.errors.add("connect: \(error)")
            }
        }
        var unreported = 0
        var measureStart: UInt64?
        var openCount = conns.count

        func drop(_ c: Conn, _ why: String) {
            part.errors.add(why)
            c.open = false
            openCount -= 1
            poller.remove(c.fd)
        }
        /// Sends (the rest of) the message; switches to reading once it is all out.
        func send(_ c: Conn, token: UInt64) {
            while c.sendOffset < size {
                let step = message.withUnsafeBytes { Socket.send(c.fd, UnsafeRawBufferPointer(rebasing: $0[c.sendOffset...])) }
                switch step {
                case .bytes(let n): c.sendOffset += n
                case .wouldBlock, .eof:
                    poller.modify(c.fd, events: Poller.output, token: token)
                    return
                case .failed(let e): return drop(c, "send: \(errnoName(e))")
                }
            }
            poller.modify(c.fd, events: Poller.input, token: token)
        }

        while openCount > 0 {
            let now = MonotonicTime.now()
            if now >= endAt { break }
            if measureStart == nil, now >= warmupEnd { measureStart = now }
            poller.wait(timeoutMillis: MonotonicTime.millisUntil(endAt, cap: 100)) { event in
                let c = conns[Int(event.token)]
                guard c.open else { return }
                if !c.connected {
                    let e = Socket.pendingError(c.fd)
                    if e != 0 { return drop(c, "connect: \(errnoName(e))") }
                    c.connected = true
                    part.connected += 1
                    c.sentAt = MonotonicTime.now()
                    c.sendOffset = 0
                    c.received = 0
                    return send(c, token: event.token)
                }
                if c.sendOffset < size { return send(c, token: event.token) }
                while true {
                    switch Socket.receive(c.fd, into: UnsafeMutableRawBufferPointer(rebasing: inbox[0..<(size - c.received)])) {
                    case .bytes(let n):
                        c.received += n
                        if c.received < size { continue }
                        let now = MonotonicTime.now()
                        if c.sentAt >= warmupEnd {
                            part.latency.record(now - c.sentAt)
                            part.requests += 1
                            unreported += 1
                        }
                        c.sentAt = now
                        c.sendOffset = 0
                        c.received = 0
                        return send(c, token: event.token)
                    case .wouldBlock: return
                    case .eof: return drop(c, "closed by the peer")
                    case .failed(let e): return drop(c, "recv: \(errnoName(e))")
                    }
                }
            }
            done.flush(&unreported)
            progress?.tick {
                guard let s = measureStart else { return "warming up" }
                let secs = Double(MonotonicTime.now() - s) / 1e9
                return "\(Int((Double(done.value) / max(secs, 0.001)).rounded())) req/s"
            }
        }
        if let s = measureStart { part.seconds = Double(min(MonotonicTime.now(), endAt) - s) / 1e9 }
        for c in conns { close(c.fd) }
        return part
    }
}
