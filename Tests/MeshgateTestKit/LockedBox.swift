import Foundation

/// A value shared between threads under a lock (a test sets it on one thread and reads it on
/// another).
public final class LockedBox<T>: @unchecked Sendable {
    // Invariant: `stored` is only touched with `lock` held.
    private let lock = NSLock()
    private var stored: T

    public init(_ value: T) { stored = value }

    public var value: T {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }

    /// Reads part of the value under the lock, without copying the rest.
    public func read<R>(_ body: (T) -> R) -> R { lock.withLock { body(stored) } }

    /// Changes the value under the lock.
    public func modify(_ body: (inout T) -> Void) { lock.withLock { body(&stored) } }
}
