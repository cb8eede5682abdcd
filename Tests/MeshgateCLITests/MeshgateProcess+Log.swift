import Foundation
import MeshgateTestKit

extension MeshgateProcess {
    /// Counters as integers (-1 for a missing key).
    func counters(_ names: [String]) throws -> [String: Int] {
        let s = try stats()
        var out: [String: Int] = [:]
        for n in names { out[n] = (s[n] as? NSNumber)?.intValue ?? -1 }
        return out
    }

    /// Polls counter `name` until `condition` holds on it or `timeout` passes; returns the last value.
    @discardableResult
    func waitCounter(_ name: String, timeout: Double = 10, _ condition: (Int) -> Bool) -> Int {
        var last = -1
        _ = waitUntil(timeout: timeout) {
            last = (try? counter(name)) ?? -1
            return condition(last)
        }
        return last
    }

    /// Log lines (standard error) that contain `text`.
    func logLines(containing text: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.contains(text) }
    }

    /// Refusal log lines naming `reason` (the `tls_refused_<reason>` key), e.g.
    /// `loop 0: TLS handshake with client refused (unknown_ca): …`.
    func refusalLogLines(reason: String) -> [Substring] {
        logLines(containing: "refused (\(reason))")
    }
}
