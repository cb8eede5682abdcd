import Foundation

/// One named background thread that sleeps on its own `StopSignal` between rounds of work:
/// `stop()` wakes it and waits, at most 15 seconds, for the round in progress to end.
final class StoppableThread: @unchecked Sendable {
    private let name: String
    private let signal = StopSignal()
    private let finished = DispatchGroup()

    /// A thread called `name` (as debuggers and `top -H` show it), not started yet.
    init(name: String) { self.name = name }

    /// Starts the thread; it runs `body` with the signal to sleep on, and ends when `body` returns.
    func start(_ body: @escaping (StopSignal) -> Void) {
        finished.enter()
        let t = Thread { [signal, finished] in
            body(signal)
            finished.leave()
        }
        t.name = name
        t.start()
    }

    /// Stops the signal (sleeps return false) and waits for `body` to return, 15 seconds at most.
    func stop() {
        signal.stop()
        _ = finished.wait(timeout: .now() + .seconds(15))
    }
}
