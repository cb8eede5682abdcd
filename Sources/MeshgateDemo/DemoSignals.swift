#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import MeshgateTestKit

/// SIGINT and SIGTERM, turned into a flag the demo's waits look at (a dispatch signal source:
/// no code runs in signal context).
final class DemoSignals: @unchecked Sendable {
    static let shared = DemoSignals()

    /// The first signal that arrived.
    private let received = LockedBox<Int32?>(nil)
    private let sources = LockedBox<[DispatchSourceSignal]>([])
    private let arrived = DispatchSemaphore(value: 0)

    /// Starts catching SIGINT and SIGTERM (and ignores SIGPIPE: a peer closing a socket is
    /// an error to report, not a reason to die). Children get the default dispositions back
    /// (`LoggedProcess` sets them on spawn).
    func install() {
        sources.modify { sources in
            guard sources.isEmpty else { return }
            Glibc.signal(SIGPIPE, SIG_IGN)
            for s in [SIGINT, SIGTERM] {
                Glibc.signal(s, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
                source.setEventHandler { [weak self] in self?.record(s) }
                source.resume()
                sources.append(source)
            }
        }
    }

    private func record(_ s: Int32) {
        received.modify { if $0 == nil { $0 = s } }
        arrived.signal()
    }

    /// The signal received, if any.
    var signal: Int32? { received.value }

    /// `SIGTERM` or `Ctrl-C`, for the messages.
    var signalName: String { signal == SIGTERM ? "SIGTERM" : "Ctrl-C" }

    /// Throws `DemoInterrupted` once a signal has arrived.
    func check() throws {
        if signal != nil { throw DemoInterrupted() }
    }

    /// Sleeps `seconds`, waking early (and throwing) when a signal arrives: the pause of the
    /// demo's waits (`waitUntil(…, pause:)`).
    func sleep(_ seconds: Double) throws {
        try check()
        if arrived.wait(timeout: .now() + seconds) == .success {
            arrived.signal()
            throw DemoInterrupted()
        }
    }

    /// Waits up to `seconds` for a signal; true when one arrived.
    func wait(upTo seconds: Double) -> Bool {
        if signal != nil { return true }
        if arrived.wait(timeout: .now() + seconds) == .success {
            arrived.signal()
            return true
        }
        return false
    }
}
