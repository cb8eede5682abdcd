import Foundation
import MeshgateLoad

/// Carries a report from a worker thread.
final class ReportBox: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var report: IntegrityReport?
    func set(_ r: IntegrityReport) {
        report = r
        done.signal()
    }
    func wait(timeout: Double) -> IntegrityReport? {
        _ = done.wait(timeout: .now() + timeout)
        return report
    }
}
