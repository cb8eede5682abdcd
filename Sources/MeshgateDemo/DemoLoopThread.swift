import Foundation
import MeshgateTestKit

/// A thread that runs one round of work again and again until ``stop(timeout:)``: the web
/// backend's accept loop and the steady traffic's GETs.
final class DemoLoopThread: @unchecked Sendable {
    private let stopping = LockedBox(false)
    private let finished = DispatchGroup()

    /// Starts the thread; `round` should return within a fraction of a second, so that a stop
    /// is seen soon.
    init(_ round: @escaping @Sendable () -> Void) {
        finished.enter()
        Thread { [stopping, finished] in
            while !stopping.value { round() }
            finished.leave()
        }.start()
    }

    /// Asks the thread to stop after its current round and waits (≤ `timeout` s) for it to end.
    /// False when it had been asked before.
    @discardableResult
    func stop(timeout: Double) -> Bool {
        var first = false
        stopping.modify {
            first = !$0
            $0 = true
        }
        _ = finished.wait(timeout: .now() + timeout)
        return first
    }
}
