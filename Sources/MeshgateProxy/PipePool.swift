#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim
import MeshgateLoop

/// A splice pipe: read end, write end.
struct Pipe {
    var read: Int32
    var write: Int32
}

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
        var fds: (Int32, Int32) = (-1, -1)
        let rc = withUnsafeMutablePointer(to: &fds) {
            $0.withMemoryRebound(to: Int32.self, capacity: 2) { mg_pipe_nonblock($0) }
        }
        guard rc == 0 else { return nil }
        if max(fds.0, fds.1) >= ceiling {
            // Into the control plane's reserve: a direction copies instead.
            close(fds.0)
            close(fds.1)
            return nil
        }
        if requestedSize > 0 {
            let got = fcntl(fds.1, mg_F_SETPIPE_SZ, Int32(requestedSize))
            if got > 0 { capacity = Int(got) }
        }
        inUse += 1
        return Pipe(read: fds.0, write: fds.1)
    }

    /// Returns an empty pipe to the pool.
    @inline(__always)
    func release(_ p: Pipe) {
        inUse -= 1
        if free.count < keep {
            free.append(p)
        } else {
            close(p.read)
            close(p.write)
        }
    }

    /// Closes every idle pooled pipe (descriptor pressure); returns how many were closed.
    @discardableResult
    func shed() -> Int {
        let n = free.count
        for p in free {
            close(p.read)
            close(p.write)
        }
        free.removeAll()
        return n
    }

    /// Closes a pipe that still holds bytes (its data is discarded).
    func discard(_ p: Pipe) {
        inUse -= 1
        close(p.read)
        close(p.write)
    }

    deinit {
        for p in free {
            close(p.read)
            close(p.write)
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
