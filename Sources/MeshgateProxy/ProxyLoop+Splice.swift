#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim
import MeshgateLoop
import MeshgateTLS

/// The splice path: plain and kernel TLS sockets, bytes moved through a pipe.
extension ProxyLoop {
    /// Splice path: source → pipe → destination, never through user space. Plain sockets and
    /// kernel TLS sockets alike.
    @inline(__always)
    func pumpSplice(
        _ f: UnsafeMutablePointer<Flow>, src: Int32, dst: Int32, ends: FlowEnds, moved: inout MovedBytes
    ) -> PumpStop {
        while true {
            if f.pointee.pending > 0 {
                guard f.pointee.destinationWritable else { return .waiting }
                let n = mg_splice(f.pointee.pipeRead, dst, Int(f.pointee.pending), K.spliceFlags)
                if n > 0 {
                    f.pointee.pending -= Int32(n)
                    moved.spliced += n
                    continue
                }
                if let stop = destinationWriteEnded(f, n: n, errno: errno, dst: dst, ends: ends) { return stop }
            }
            // The pipe is empty.
            if f.pointee.sourceEOF {
                releaseChannel(f)
                return finish(f, dst: dst, ends: ends)
            }
            guard f.pointee.sourceReadable else {
                releaseChannel(f)
                return .waiting
            }
            if moved.total >= K.turnBudget { return .yielded }
            if f.pointee.pipeRead < 0 {
                guard let p = pipes.acquire() else {
                    // No pipe to be had (pool limit or descriptors): this direction copies instead.
                    f.pointee.copyPath = true
                    counters.add(.copyPathTransfers)
                    return pumpBuffered(f, src: src, dst: dst, ends: ends, moved: &moved)
                }
                f.pointee.pipeRead = p.read
                f.pointee.pipeWrite = p.write
                counters.add(.pipesInUse)
            }
            let n = mg_splice(src, f.pointee.pipeWrite, pipes.capacity, K.spliceFlags)
            if n > 0 {
                f.pointee.pending = Int32(n)
                continue
            }
            let e = errno
            switch sourceReadEnded(f, src: src, n: n, errno: e, ends: ends) {
            case .readOn: continue
            case .stop(let stop): return stop
            case .failed: break
            }
            if e == EINVAL {
                // This socket type cannot splice: fall back to copying for this direction.
                releaseChannel(f)
                f.pointee.copyPath = true
                counters.add(.copyPathTransfers)
                return pumpBuffered(f, src: src, dst: dst, ends: ends, moved: &moved)
            }
            return .sourceFailed(Errno(rawValue: e))
        }
    }
}
