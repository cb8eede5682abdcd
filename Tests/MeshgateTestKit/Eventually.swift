import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Polls `condition` every `interval` until it holds or `timeout` passes; returns whether it
/// held (it is asked once more at the deadline). The one asynchronous wait of the tests.
public func eventually(
    timeout: Duration = .seconds(5), every interval: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// Polls `condition` every `interval` seconds until it holds or `timeout` seconds pass; returns
/// whether it held (it is asked once more at the deadline). The one blocking wait of the tests,
/// for threads that are not in an asynchronous context.
@discardableResult
public func waitUntil(timeout: Double, every interval: Double = 0.02, _ condition: () -> Bool) -> Bool {
    waitUntil(timeout: timeout, every: interval, pause: { usleep(useconds_t($0 * 1_000_000)) }, condition)
}

/// ``waitUntil(timeout:every:_:)`` with the pause between two polls given: `pause(interval)` may
/// throw to end the wait early (`meshgate demo` wakes up and stops on Ctrl-C), and `condition`
/// may throw (a process it watches died). Both errors reach the caller.
@discardableResult
public func waitUntil(
    timeout: Double, every interval: Double = 0.02, pause: (Double) throws -> Void, _ condition: () throws -> Bool
) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        try pause(interval)
    }
    return try condition()
}
