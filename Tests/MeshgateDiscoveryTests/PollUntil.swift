import Foundation

/// Polls `condition` every 20 ms until it holds or `seconds` pass; its last value.
func pollUntil(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}
