#if canImport(Glibc)
import Glibc
#endif
import MeshgateLoop

/// A loop's bounded pool of splice pipes. A direction holds a pipe only while bytes are in
/// flight, so idle connections hold none. Loop-confined.
final class PipePool {
    private var free: [Pipe] = []
    private let requestedSize: Int
    private let limit: Int
    /// Pipes kept open while unused; the rest are closed when returned.
    private let keep = 64
    /// Pipes handed out and not yet returned.
    private(set) var inUse = 0
    /// Effective capacity of a pipe (bytes one splice may move into it).
    private(set) var capacity: Int

    /// Descriptor numbers from here up are the control plane's reserve (`DescriptorBudget.ceiling`).
    private let ceiling: Int32

    init(requestedSize: Int, limit: Int, ceiling: Int32 = .max) {
        self.requestedSize = requestedSize
        self.limit = limit
        self.ceiling = ceiling
        self.capacity = requestedSize > 0 ? requestedSize : 65536
    }

    /// A pipe, or nil when the pool is at its limit or the process is out of descriptors.
    @inline(__always)
    func acquire() -> Pipe? {
        if let p = free.popLast() {
            inUse += 1
            return p
        }
        guard inUse < limit else { return nil }
        guard case .success(let pipe) = Pipe.open() else { return nil }
        if max(pipe.read.raw, pipe.write.raw) >= ceiling {
            // Into the control plane's reserve: a direction copies instead.
            pipe.close()
            return nil
        }
        if requestedSize > 0, let got = pipe.resize(to: requestedSize) { capacity = got }
        inUse += 1
        return pipe
    }

    /// Returns an empty pipe to the pool.
    @inline(__always)
    func release(_ p: Pipe) {
        inUse -= 1
        if free.count < keep {
            free.append(p)
        } else {
            p.close()
        }
    }

    /// Closes every idle pooled pipe (descriptor pressure); returns how many were closed.
    @discardableResult
    func shed() -> Int {
        let n = free.count
        for p in free {
            p.close()
        }
        free.removeAll()
        return n
    }

    /// Closes a pipe that still holds bytes (its data is discarded).
    func discard(_ p: Pipe) {
        inUse -= 1
        p.close()
    }

    deinit {
        for p in free {
            p.close()
        }
    }
}

/// A loop's pool of user-space buffers for the copy path (no splice). Loop-confined.
final class BufferPool {
    let size: Int
    private var free: [UnsafeMutableRawPointer] = []
    private let keep = 64
    private(set) var inUse = 0

    init(size: Int = 64 * 1024) { self.size = size }

    @inline(__always)
    func acquire() -> UnsafeMutableRawPointer {
        inUse += 1
        return free.popLast() ?? UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    }

    @inline(__always)
    func release(_ b: UnsafeMutableRawPointer) {
        inUse -= 1
        if free.count < keep { free.append(b) } else { b.deallocate() }
    }

    deinit { for b in free { b.deallocate() } }
}

@available(*, unavailable)
extension PipePool: Sendable {}

@available(*, unavailable)
extension BufferPool: Sendable {}
