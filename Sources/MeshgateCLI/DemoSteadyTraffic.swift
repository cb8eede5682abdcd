#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A thread sending `GET /` to one route every `interval` until stopped, counting answers and
/// failures (the east → west traffic that must not notice north's outage).
final class DemoSteadyTraffic: @unchecked Sendable {
    let port: UInt16
    private let host: String
    private let interval: Double
    private let lock = NSLock()
    private var stopping = false
    private var latencies: [Double] = []
    private var failures: [String] = []
    private let finished = DispatchGroup()

    init(port: UInt16, host: String, interval: Double = 0.05) {
        self.port = port
        self.host = host
        self.interval = interval
        finished.enter()
        Thread { [self] in
            while !isStopping {
                let outcome = DemoHTTP.get(port, host: host, timeout: 5)
                lock.lock()
                switch outcome {
                case .answered(let status, _, _, _, let s) where status == 200: latencies.append(s)
                case .answered(let status, _, _, _, _): failures.append("HTTP \(status)")
                case .failed(let reason, _): failures.append(reason)
                }
                lock.unlock()
                usleep(UInt32(interval * 1_000_000))
            }
            finished.leave()
        }.start()
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    /// Requests so far: answered and failed.
    var counts: (ok: Int, failed: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (latencies.count, failures.count)
    }

    /// Stops the thread; the answered requests' latencies (seconds) and the failures.
    func stop() -> (latencies: [Double], failures: [String]) {
        lock.lock()
        stopping = true
        lock.unlock()
        _ = finished.wait(timeout: .now() + 10)
        lock.lock()
        defer { lock.unlock() }
        return (latencies, failures)
    }
}
