/// What the io_uring backend has submitted on each descriptor, so closing a socket can cancel
/// its requests by `user_data`.
///
/// The kernel finds a request by `user_data` with one lookup in its cancel hash, but by
/// descriptor (`IORING_ASYNC_CANCEL_FD`) only by walking every armed poll: cancelling by
/// descriptor made closing n watched sockets cost O(n²) (5000 proxied connections took
/// seconds to close). A socket has at most one watch and one connect here; a descriptor with
/// anything else (an accept on a listener, a second watch token) is marked, and its close
/// falls back to cancelling by descriptor.
///
/// An entry lives until the descriptor is closed or released through the backend. A
/// descriptor closed elsewhere (a route listener its last holder closes) leaves its entry
/// behind; the next socket under that number then costs one needless cancel, or one cancel by
/// descriptor, never a missed one.
///
/// Loop-confined, like its backend. Indexed by descriptor; grows to the highest one seen.
struct UringPendingOperations {
    struct Entry: Equatable {
        /// The `user_data` of the multishot poll, or 0.
        var watch: UInt64 = 0
        /// The `user_data` of the connect, or 0 (kept after it completes: cancelling a
        /// finished request finds nothing, which costs one lookup).
        var connect: UInt64 = 0
        /// Something not tracked by `user_data` may be pending: cancel by descriptor.
        var byDescriptor = false
    }

    private var entries: [Entry] = []

    /// Records a multishot poll on `fd`.
    mutating func watch(_ fd: Int32, _ token: UInt64) {
        update(fd) { e in
            if e.watch != 0 && e.watch != token { e.byDescriptor = true }
            e.watch = token
        }
    }

    /// Records a connect on `fd`.
    mutating func connect(_ fd: Int32, _ token: UInt64) {
        update(fd) { e in
            if e.connect != 0 && e.connect != token { e.byDescriptor = true }
            e.connect = token
        }
    }

    /// Records an operation that only a cancel by descriptor reaches (accepts on a listener).
    mutating func untracked(_ fd: Int32) {
        update(fd) { $0.byDescriptor = true }
    }

    /// What is pending on `fd`; forgets it (the descriptor is being closed or handed over).
    mutating func take(_ fd: Int32) -> Entry {
        guard fd >= 0, Int(fd) < entries.count else { return Entry() }
        defer { entries[Int(fd)] = Entry() }
        return entries[Int(fd)]
    }

    private mutating func update(_ fd: Int32, _ body: (inout Entry) -> Void) {
        guard fd >= 0 else { return }
        let i = Int(fd)
        if i >= entries.count {
            entries.append(contentsOf: repeatElement(Entry(), count: max(i + 1, entries.count * 2, 1024) - entries.count))
        }
        body(&entries[i])
    }
}
