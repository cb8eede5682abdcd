#if canImport(Glibc)
import Glibc
#endif
import MeshgateLoop
import MeshgateNames

/// Why the benchmark could not do its job (printed, exit status 2).
struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Percentiles of a set of durations, in microseconds (nearest rank over the sorted samples).
struct LatencySummary {
    let count: Int
    let p50: Double
    let p90: Double
    let p99: Double
    let max: Double

    init(nanoseconds samples: [Int64]) {
        let sorted = samples.sorted()
        count = sorted.count
        func rank(_ q: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let i = Swift.max(0, Swift.min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1))
            return Double(sorted[i]) / 1000
        }
        p50 = rank(0.50)
        p90 = rank(0.90)
        p99 = rank(0.99)
        max = sorted.last.map { Double($0) / 1000 } ?? 0
    }

    var json: String {
        "{\"p50\":\(JSON.number(p50)),\"p90\":\(JSON.number(p90)),\"p99\":\(JSON.number(p99)),\"max\":\(JSON.number(max))}"
    }

    var text: String { "p50=\(JSON.number(p50)) p90=\(JSON.number(p90)) p99=\(JSON.number(p99)) max=\(JSON.number(max))" }
}

/// Just enough JSON text.
enum JSON {
    /// At most one decimal (microseconds are plenty precise), no trailing ".0".
    static func number(_ v: Double) -> String {
        guard v.isFinite else { return "null" }
        let r = (v * 10).rounded() / 10
        if r == r.rounded(), abs(r) < 1e15 { return String(Int64(r)) }
        return String(r)
    }
}

/// Lines on standard error.
enum StandardError {
    static func line(_ text: String) {
        _ = (text + "\n").withCString { fputs($0, stderr) }
    }
}

/// The process's descriptor limit: every route listener is one descriptor of this process.
enum DescriptorLimit {
    /// Raises the soft RLIMIT_NOFILE to the hard limit; returns (soft now in force, hard).
    static func raiseToHard() -> (soft: Int, hard: Int) {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &r) == 0 else { return (1024, 1024) }
        if r.rlim_cur < r.rlim_max {
            var raised = r
            raised.rlim_cur = r.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { r = raised }
        }
        func clamp(_ v: rlim_t) -> Int { v >= rlim_t(1 << 30) ? 1 << 30 : Int(v) }
        return (clamp(r.rlim_cur), clamp(r.rlim_max))
    }

    /// Descriptors open now.
    static func openNow() -> Int {
        guard let d = opendir("/proc/self/fd") else { return 16 }
        defer { closedir(d) }
        var n = 0
        while readdir(d) != nil { n += 1 }
        return Swift.max(0, n - 3)
    }
}

/// Blocking-with-deadline TCP connects, to check a route port from the outside.
enum TCPProbe {
    enum Outcome: Equatable {
        /// Connected; the socket is returned open (the caller closes it).
        case connected(Int32)
        /// ECONNREFUSED: nothing listens there.
        case refused
        /// Anything else (timeout, another errno).
        case failed(String)
    }

    static func connect(_ address: SocketAddress, timeoutMilliseconds: Int32 = 1000) -> Outcome {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failed("socket: \(String(cString: strerror(errno)))") }
        let rc = address.withSockAddr { sa, len in Glibc.connect(fd, sa, len) }
        if rc == 0 { return .connected(fd) }
        var e = errno
        if e == EINPROGRESS {
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let n = poll(&p, 1, timeoutMilliseconds)
            if n == 0 {
                Glibc.close(fd)
                return .failed("no answer within \(timeoutMilliseconds) ms")
            }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err == 0 { return .connected(fd) }
            e = err
        }
        Glibc.close(fd)
        if e == ECONNREFUSED { return .refused }
        return .failed(String(cString: strerror(e)))
    }
}

/// Sleeps a little (a polling interval).
func sleepMilliseconds(_ milliseconds: Int) {
    usleep(UInt32(milliseconds * 1000))
}

/// The local endpoint of the one exported service: a plain TCP listener the benchmark reads
/// from directly, so the final check can see bytes arrive through a route, both mTLS hops
/// (route listener → this gateway's inbound side) and the endpoint connection.
final class BenchEndpoint {
    let fd: Int32
    let address: SocketAddress

    init() throws {
        let any = try SocketAddress.resolve(host: "127.0.0.1", port: 0)
        fd = try Socket.listen(on: any, reusePort: false, backlog: 64)
        address = try Socket.localAddress(fd)
    }

    deinit { Glibc.close(fd) }

    /// Accepts one connection and reads until `expected` arrived (or the deadline): true when it did.
    func receive(_ expected: [UInt8], timeoutMilliseconds: Int32) -> (ok: Bool, detail: String) {
        let deadline = MonotonicClock.nanoseconds() + Int64(timeoutMilliseconds) * 1_000_000
        func remaining() -> Int32 { Int32(max(0, (deadline - MonotonicClock.nanoseconds()) / 1_000_000)) }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, remaining()) == 1 else { return (false, "no connection reached the service endpoint") }
        let conn = accept(fd, nil, nil)
        guard conn >= 0 else { return (false, "accept at the endpoint: \(String(cString: strerror(errno)))") }
        defer { Glibc.close(conn) }
        var got: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while got.count < expected.count {
            var q = pollfd(fd: conn, events: Int16(POLLIN), revents: 0)
            guard poll(&q, 1, remaining()) == 1 else { return (false, "the endpoint got \(got.count) of \(expected.count) bytes") }
            let n = recv(conn, &buffer, buffer.count, 0)
            if n <= 0 { return (false, "the endpoint connection ended after \(got.count) bytes") }
            got += buffer[0..<n]
        }
        return got.starts(with: expected) ? (true, "\(expected.count) bytes arrived at the endpoint") : (false, "the endpoint got other bytes")
    }
}

/// CPU time, to tell work from waiting on a shared machine.
enum CPUTime {
    /// CPU time of the calling thread, in nanoseconds.
    static func thisThread() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }

    /// CPU time of every thread of this process but the main one, in nanoseconds (the first
    /// field of /proc/self/task/TID/schedstat). With no traffic, that is the loops' work.
    static func otherThreads() -> Int64 {
        let main = getpid()
        guard let dir = opendir("/proc/self/task") else { return 0 }
        defer { closedir(dir) }
        var total: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 128)
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let tid = Int32(name), tid != main else { continue }
            let fd = open("/proc/self/task/\(tid)/schedstat", O_RDONLY)
            guard fd >= 0 else { continue }
            let n = read(fd, &buffer, buffer.count)
            Glibc.close(fd)
            guard n > 0 else { continue }
            var v: Int64 = 0
            for b in buffer[0..<n] {
                guard b >= 48 && b <= 57 else { break }
                v = v &* 10 &+ Int64(b - 48)
            }
            total &+= v
        }
        return total
    }
}
