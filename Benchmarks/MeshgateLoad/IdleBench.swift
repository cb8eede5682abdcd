#if canImport(Glibc)
import Glibc
import MeshgateNames
#endif

/// Idle connection cost: opens `connections` connections through the target (each sends 1 byte and reads
/// the echo, so a proxy has connected upstream), lets the target settle, and reports how much process
/// `pid`'s resident memory (VmRSS) grew per connection (or that of several processes together, for a
/// chain of proxies). The connections stay open until the measurement is taken, then close.
public enum IdleBench {
    /// Runs the idle scenario. `pid` is the process to measure (the proxy); without it only the
    /// connection counts are reported. Opening must finish within `openTimeout`.
    public static func run(_ options: BenchOptions, connections: Int, pid: Int32?, settle: Duration = .seconds(1),
                           openConcurrency: Int = 256, openTimeout: Duration = .seconds(60)) -> BenchResult {
        run(options, connections: connections, pids: pid.map { [$0] } ?? [], settle: settle,
            openConcurrency: openConcurrency, openTimeout: openTimeout)
    }

    /// Runs the idle scenario measuring several processes (a chain of proxies): the RSS figures are the
    /// sums over `pids`; with more than one process, `rss_per_conn_bytes_<i>` (1-based, in `pids`
    /// order) also gives each process's share.
    public static func run(_ options: BenchOptions, connections: Int, pids: [Int32], settle: Duration = .seconds(1),
                           openConcurrency: Int = 256, openTimeout: Duration = .seconds(60)) -> BenchResult {
        var params: [(String, String)] = [("connections", String(connections))]
        if !pids.isEmpty { params.append(("pid", pids.map(String.init).joined(separator: ","))) }
        params.append(("settle", DurationText.format(settle)))
        var result = BenchResult(scenario: "idle", target: options.target.description, params: params)
        let address: SocketAddress
        do { address = try SocketAddress(resolving: options.target) } catch { return result.failing("\(error)") }
        let limit = ProcessResources.raiseFileLimit()
        if connections + 64 > limit {
            return result.failing("RLIMIT_NOFILE is \(limit): too low for \(connections) connections")
        }
        for pid in pids where ProcessResources.residentBytes(pid: pid) == nil {
            return result.failing("cannot read /proc/\(pid)/status")
        }
        let before = residentBytes(pids)
        var opener = IdleOpener(address: address, total: connections, concurrency: max(1, openConcurrency))
        let progress = BenchProgress(label: "idle", duration: openTimeout, quiet: options.quiet)
        opener.open(deadline: MonotonicTime.now() + openTimeout.nanoseconds, progress: progress)
        defer { opener.closeAll() }

        sleepFor(settle)
        let after = residentBytes(pids)
        let dropped = opener.countClosedByPeer()
        let established = opener.established.count

        result.results = [
            ("established", Double(established)),
            ("failures", Double(opener.failures.count)),
            ("dropped", Double(dropped)),
        ]
        if let before, let after {
            let total = (before: before.reduce(0, +), after: after.reduce(0, +))
            result.results += [
                ("rss_before_kib", Double(total.before / 1024)),
                ("rss_after_kib", Double(total.after / 1024)),
                ("rss_per_conn_bytes", established > 0 ? Double(total.after - total.before) / Double(established) : 0),
            ]
            if pids.count > 1 {
                for i in pids.indices {
                    result.results.append(("rss_per_conn_bytes_\(i + 1)",
                                           established > 0 ? Double(after[i] - before[i]) / Double(established) : 0))
                }
            }
        }
        result.errors = opener.failures.samples
        if dropped > 0 { result.errors.append("\(dropped) idle connections were closed by the target during the settle time") }
        result.fatal = established == 0
        return result
    }

    /// VmRSS of each of `pids`, in order; nil when there are none or one is unreadable.
    static func residentBytes(_ pids: [Int32]) -> [Int64]? {
        guard !pids.isEmpty else { return nil }
        var sizes: [Int64] = []
        for pid in pids {
            guard let bytes = ProcessResources.residentBytes(pid: pid) else { return nil }
            sizes.append(bytes)
        }
        return sizes
    }

    static func sleepFor(_ d: Duration) {
        var ts = timespec(tv_sec: Int(d.components.seconds), tv_nsec: Int(d.components.attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&ts, &remaining) != 0, errno == EINTR { ts = remaining }
    }
}

/// Opens the idle connections of `IdleBench`, `concurrency` at a time, and holds them.
struct IdleOpener {
    private enum Phase { case connecting, awaitingEcho }

    let address: SocketAddress
    let total: Int
    let concurrency: Int
    private(set) var established: [Int32] = []
    private(set) var failures = ErrorSamples()
    private var inFlight: [Int32: Phase] = [:]
    private var started = 0

    init(address: SocketAddress, total: Int, concurrency: Int) {
        self.address = address
        self.total = total
        self.concurrency = concurrency
    }

    mutating func open(deadline: UInt64, progress: BenchProgress) {
        guard let poller = try? Poller() else {
            failures.add("epoll_create1 failed")
            return
        }
        var byte: UInt8 = 0x49
        while established.count + failures.count < total {
            while inFlight.count < concurrency, started < total {
                started += 1
                do {
                    let fd = try Socket.connectNonblocking(address)
                    try poller.add(fd, events: Poller.output, token: UInt64(fd))
                    inFlight[fd] = .connecting
                } catch {
                    failures.add("\(error)")
                }
            }
            if MonotonicTime.now() >= deadline { break }
            var ready: [PollEvent] = []
            poller.wait(timeoutMillis: MonotonicTime.millisUntil(deadline, cap: 100)) { ready.append($0) }
            for event in ready {
                let fd = Int32(truncatingIfNeeded: event.token)
                guard let phase = inFlight[fd] else { continue }
                switch phase {
                case .connecting:
                    let e = Socket.pendingError(fd)
                    if e != 0 {
                        failed(fd, "connect: \(errnoName(e))", poller)
                        continue
                    }
                    switch withUnsafeBytes(of: &byte, { Socket.send(fd, $0) }) {
                    case .bytes:
                        inFlight[fd] = .awaitingEcho
                        poller.modify(fd, events: Poller.input, token: event.token)
                    case .wouldBlock, .eof:
                        continue
                    case .failed(let e):
                        failed(fd, "send: \(errnoName(e))", poller)
                    }
                case .awaitingEcho:
                    var got: UInt8 = 0
                    switch withUnsafeMutableBytes(of: &got, { Socket.receive(fd, into: $0) }) {
                    case .bytes:
                        poller.remove(fd)
                        inFlight[fd] = nil
                        established.append(fd)
                    case .wouldBlock:
                        continue
                    case .eof:
                        failed(fd, "closed before the echo", poller)
                    case .failed(let e):
                        failed(fd, "recv: \(errnoName(e))", poller)
                    }
                }
            }
            progress.tick { "\(established.count)/\(total) open" }
        }
        for fd in inFlight.keys {
            failures.add("not established before the deadline")
            close(fd)
        }
        for _ in started..<total { failures.add("not started before the deadline") }
        inFlight = [:]
    }

    private mutating func failed(_ fd: Int32, _ why: String, _ poller: Poller) {
        poller.remove(fd)
        inFlight[fd] = nil
        close(fd)
        failures.add(why)
    }

    /// How many held connections the peer has closed or reset (readable with EOF or an error).
    func countClosedByPeer() -> Int {
        var fds = established.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        guard !fds.isEmpty, poll(&fds, nfds_t(fds.count), 0) > 0 else { return 0 }
        return fds.filter { $0.revents != 0 }.count
    }

    /// Closes every held connection.
    mutating func closeAll() {
        for fd in established { close(fd) }
        established = []
    }
}
