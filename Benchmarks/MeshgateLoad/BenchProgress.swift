#if canImport(Glibc)
import Glibc
#endif

/// Progress lines on standard error, once a second, for runs longer than about 3 s.
final class BenchProgress {
    private let label: String
    private let total: Double
    private let enabled: Bool
    private let start = MonotonicTime.now()
    private var nextReport: UInt64

    /// Progress for a run named `label` planned to last `duration`; silent when `quiet` or the run is short.
    init(label: String, duration: Duration, quiet: Bool = false) {
        self.label = label
        total = duration.seconds
        enabled = !quiet && duration > .seconds(3)
        nextReport = start + 1_000_000_000
    }

    /// Prints `status()` if a second has passed since the last line.
    func tick(_ status: () -> String) {
        guard enabled else { return }
        let now = MonotonicTime.now()
        guard now >= nextReport else { return }
        nextReport = now + 1_000_000_000
        let elapsed = Double(now - start) / 1e9
        let line = "meshgate-bench: \(label) \(Int(elapsed.rounded()))/\(Int(total.rounded())) s \(status())\n"
        _ = line.withCString { fputs($0, stderr) }
    }
}
