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
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(useconds_t(interval * 1_000_000))
    }
    return condition()
}
