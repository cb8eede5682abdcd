#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MeshgateTestKit

/// A thread sending `GET /` to one route every `interval` until stopped, counting answers and
/// failures (the east → west traffic that must not notice north's outage).
final class DemoSteadyTraffic: @unchecked Sendable {
    let port: UInt16
    /// The answered requests' latencies (seconds) and the failures.
    private let results = LockedBox((latencies: [Double](), failures: [String]()))
    private var sender: DemoLoopThread!

    init(port: UInt16, host: String, interval: Double = 0.05) {
        self.port = port
        sender = DemoLoopThread { [results] in
            let outcome = DemoHTTP.get(port, host: host, timeout: 5)
            results.modify {
                switch outcome {
                case .answered(let status, _, _, _, let s) where status == 200: $0.latencies.append(s)
                case .answered(let status, _, _, _, _): $0.failures.append("HTTP \(status)")
                case .failed(let reason, _): $0.failures.append(reason)
                }
            }
            usleep(UInt32(interval * 1_000_000))
        }
    }

    /// Requests so far: answered and failed.
    var counts: (ok: Int, failed: Int) {
        results.read { ($0.latencies.count, $0.failures.count) }
    }

    /// Stops the thread; the answered requests' latencies (seconds) and the failures.
    func stop() -> (latencies: [Double], failures: [String]) {
        sender.stop(timeout: 10)
        return results.value
    }
}
