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
        _ f: UnsafeMutablePointer<Flow>, src: Descriptor, dst: Descriptor, ends: FlowEnds, moved: inout MovedBytes
    ) -> PumpStop {
        while true {
            if f.pointee.pending > 0, let pipe = f.pointee.pipe {  // bytes in flight are in the pipe
                guard f.pointee.destinationWritable else { return .waiting }
                let result = SocketIO.splice(from: pipe.read, to: dst, count: Int(f.pointee.pending))
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
            guard let pipe = heldPipe(f) else {
                // No pipe to be had (pool limit or descriptors).
                return copyInstead(f, src: src, dst: dst, ends: ends, moved: &moved)
            }
            let result = SocketIO.splice(from: src, to: pipe.write, count: pipes.capacity)
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
                // This socket type cannot splice.
                releaseChannel(f)
                return copyInstead(f, src: src, dst: dst, ends: ends, moved: &moved)
            }
            return .sourceFailed(e)
        }
    }

    /// This direction copies from now on (counted), starting now.
    func copyInstead(
        _ f: UnsafeMutablePointer<Flow>, src: Descriptor, dst: Descriptor, ends: FlowEnds, moved: inout MovedBytes
    ) -> PumpStop {
        f.pointee.copyPath = true
        counters.add(.copyPathTransfers)
        return pumpBuffered(f, src: src, dst: dst, ends: ends, moved: &moved)
    }

    /// The direction's pipe, taken from the pool when it holds none; nil when none is to be had.
    @inline(__always)
    func heldPipe(_ f: UnsafeMutablePointer<Flow>) -> Pipe? {
        if let held = f.pointee.pipe { return held }
        guard let pipe = pipes.acquire() else { return nil }
        f.pointee.pipe = pipe
        counters.add(.pipesInUse)
        return pipe
    }
}
