#if canImport(Glibc)
import Glibc
#endif
import MeshgateLoop

/// Round-robin upstream choice with passive health: an upstream whose connect failed is
/// skipped for a short hold-down while others are healthy. Loop-confined.
final class UpstreamBalancer {
    /// Resolved addresses, in stable memory (io_uring reads them at submission).
    let addresses: UnsafeMutablePointer<sockaddr_storage>
    let lengths: [socklen_t]
    let families: [Int32]
    let descriptions: [String]
    var count: Int { lengths.count }

    private var next = 0
    private var downUntil: [Int64]
    private let holdDown: Int64 = 2_000_000_000

    init(_ upstreams: [SocketAddress], startingAt start: Int) {
        let storage = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: upstreams.count)
        for (i, u) in upstreams.enumerated() {
            storage[i] = sockaddr_storage()
            u.withSockAddr { sa, len in
                UnsafeMutableRawPointer(storage + i).copyMemory(from: sa, byteCount: Int(len))
            }
        }
        addresses = storage
        lengths = upstreams.map(\.length)
        families = upstreams.map(\.family)
        descriptions = upstreams.map(\.description)
        downUntil = Array(repeating: 0, count: upstreams.count)
        next = start % max(upstreams.count, 1)
    }

    deinit { addresses.deallocate() }

    /// The first upstream of a new connection: the next healthy one in round-robin order
    /// (or simply the next when none is healthy).
    func first(now: Int64) -> Int {
        let n = count
        for k in 0..<n {
            let i = (next + k) % n
            if downUntil[i] <= now {
                next = (i + 1) % n
                return i
            }
        }
        let i = next
        next = (next + 1) % n
        return i
    }

    /// The upstream to try after `current` failed.
    func after(_ current: Int, now: Int64) -> Int {
        let n = count
        // Prefer healthy ones; fall back to plain order.
        for k in 1..<n {
            let i = (current + k) % n
            if downUntil[i] <= now { return i }
        }
        return (current + 1) % n
    }

    func markDown(_ i: Int, now: Int64) { downUntil[i] = now &+ holdDown }
    func markUp(_ i: Int) { downUntil[i] = 0 }

    @inline(__always)
    func address(_ i: Int) -> UnsafePointer<sockaddr> {
        UnsafeRawPointer(addresses + i).assumingMemoryBound(to: sockaddr.self)
    }
}

@available(*, unavailable)
extension UpstreamBalancer: Sendable {}
