#if canImport(Glibc)
import Glibc
#endif
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
                let result = SocketIO.splice(from: f.pointee.pipeRead, to: dst, count: Int(f.pointee.pending))
                if case .moved(let n) = result {
                    f.pointee.pending -= Int32(n)
                    moved.spliced += n
                    continue
                }
                return destinationWriteEnded(f, result, dst: dst, ends: ends)
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
            let result = SocketIO.splice(from: src, to: f.pointee.pipeWrite, count: pipes.capacity)
            if case .moved(let n) = result {
                f.pointee.pending = Int32(n)
                continue
            }
            let e: Errno
            switch sourceReadEnded(f, src: src, result, ends: ends) {
            case .readOn: continue
            case .stop(let stop): return stop
            case .failed(let failure): e = failure
            }
            if e == .invalidArgument {
                // This socket type cannot splice: fall back to copying for this direction.
                releaseChannel(f)
                f.pointee.copyPath = true
                counters.add(.copyPathTransfers)
                return pumpBuffered(f, src: src, dst: dst, ends: ends, moved: &moved)
            }
            return .sourceFailed(e)
        }
    }
}
