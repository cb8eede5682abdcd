import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Polls `condition` every 20 ms until it holds (true) or `timeout` seconds pass (false).
@discardableResult
func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if condition() { return true }
        if Date() >= deadline { return false }
        usleep(20_000)
    }
}
