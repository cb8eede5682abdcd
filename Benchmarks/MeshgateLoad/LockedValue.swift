#if canImport(Glibc)
import Glibc
#endif

/// A value guarded by a mutex, shared between an engine thread and its owner.
final class LockedValue<Value>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var stored: Value

    init(_ value: Value) {
        stored = value
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    @discardableResult
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body(&stored)
    }

    /// A copy of the value.
    var value: Value { withLock { $0 } }
}

extension LockedValue where Value: BinaryInteger {
    /// Adds what a thread counted locally since its last flush to the shared total, taking the
    /// lock only when there is something to add; `pending` is zero afterwards.
    func flush(_ pending: inout Value) {
        guard pending > 0 else { return }
        let amount = pending
        withLock { $0 += amount }
        pending = 0
    }
}
