#if canImport(Glibc)
import Glibc
#endif
import MeshgateLoop
import MeshgateTLS

/// Where a pump stops: failed or blocked writes and reads, the end of a stream (close_notify,
/// FIN, truncation) and kernel TLS control records.
extension ProxyLoop {
    /// A write to the destination moved nothing (`result` is not `.moved`): where the pump
    /// stops, waiting for writability or with a failed destination.
    @inline(__always)
    func destinationWriteEnded(_ f: UnsafeMutablePointer<Flow>, _ result: IOResult, dst: Descriptor, ends: FlowEnds) -> PumpStop {
        switch result {
        case .wouldBlock:
            f.pointee.destinationWritable = false
            if ends.destinationKernelTLS {
                // Linux before 6.5 (no splice_eof): a kTLS record completed mid-splice goes to
                // TCP flagged "more to come"; when the next page then finds the socket full,
                // that record is queued but never pushed. With nothing in flight no ACK comes
                // to push it or to wake a writer, and the stream stalls. Setting TCP_NODELAY
                // pushes whatever TCP holds.
                Socket.pushPendingFrames(dst.raw)
            }
            return .waiting
        case .eof, .moved:
            return .destinationFailed(.brokenPipe)
        case .failed(let e):
            return .destinationFailed(e)
        }
    }

    enum ReadEnd {
        /// Read again (end of stream or a control record taken into account).
        case readOn
        /// The pump stops here.
        case stop(PumpStop)
        /// Any other error: the caller decides.
        case failed(Errno)
    }

    /// A read or splice from a plain or kernel TLS source moved nothing (`result`). A bare FIN
    /// on a kernel TLS socket truncates the stream (close_notify ends it first); a read that
    /// fails with EIO (recv) or EINVAL/EIO (splice) there means a non-data record is next,
    /// which is read and acted on.
    @inline(__always)
    func sourceReadEnded(_ f: UnsafeMutablePointer<Flow>, src: Descriptor, _ result: IOResult, ends: FlowEnds) -> ReadEnd {
        switch result {
        case .eof, .moved:
            if ends.sourceKernelTLS { return .stop(truncated()) }
            f.pointee.sourceEOF = true
            return .readOn
        case .wouldBlock:
            return .stop(sourceReadStopped(f, result))
        case .failed(let e):
            if ends.sourceKernelTLS && (e.rawValue == EINVAL || e.rawValue == EIO) {
                if let stop = controlRecord(f, src: src) {
                    releaseChannel(f)
                    return .stop(stop)
                }
                return .readOn
            }
            return .failed(e)
        }
    }

    /// A read from the source that neither moved bytes nor ended the stream: blocked (the
    /// direction waits for readability and gives back its pipe or buffer) or failed.
    @inline(__always)
    func sourceReadStopped(_ f: UnsafeMutablePointer<Flow>, _ result: IOResult) -> PumpStop {
        if case .failed(let e) = result { return .sourceFailed(e) }
        f.pointee.sourceReadable = false
        releaseChannel(f)
        return .waiting
    }

    /// Ends the destination's stream once everything is sent: close_notify first on a kernel
    /// TLS socket (user-space TLS queued its own already), then FIN.
    func finish(_ f: UnsafeMutablePointer<Flow>, dst: Descriptor, ends: FlowEnds) -> PumpStop {
        if ends.destinationKernelTLS && !f.pointee.closeNotifySent {
            guard f.pointee.destinationWritable else { return .waiting }
            let e = KernelTLS.sendCloseNotify(fd: dst.raw)
            if e == EAGAIN {
                f.pointee.destinationWritable = false
                return .waiting
            }
            if e != 0 { return .destinationFailed(Errno(rawValue: e)) }
            f.pointee.closeNotifySent = true
        }
        Socket.shutdownWrite(dst.raw)
        f.pointee.finished = true
        return .finished
    }

    /// A TLS stream ended without close_notify: never pass it on as complete.
    func truncated() -> PumpStop {
        counters.add(.tlsTruncated)
        return .sourceFailed(Errno(rawValue: ECONNRESET))
    }

    /// Reads the non-data record waiting on a kernel TLS source; nil to read on.
    func controlRecord(_ f: UnsafeMutablePointer<Flow>, src: Descriptor) -> PumpStop? {
        switch KernelTLS.readControlRecord(fd: src.raw, scratch: tlsScratch) {
        case .ignored:
            counters.add(.ktlsControlRecords)
            return nil
        case .closeNotify:
            counters.add(.ktlsControlRecords)
            f.pointee.sourceEOF = true
            return nil
        case .keyUpdate:
            counters.add(.ktlsControlRecords)
            counters.add(.ktlsKeyUpdateCloses)
            limits.warning(
                "ktls-keyupdate", "loop \(index): peer sent a TLS KeyUpdate, which this kernel's TLS cannot follow; closing the connection")
            return .sourceFailed(Errno(rawValue: EPROTO))
        case .fatal(let why):
            counters.add(.ktlsControlRecords)
            limits.warning("ktls-record", "loop \(index): kernel TLS stream ended: \(why)")
            return .sourceFailed(Errno(rawValue: EPROTO))
        case .wouldBlock:
            f.pointee.sourceReadable = false
            return .waiting
        case .failed(let e):
            return .sourceFailed(e)
        }
    }
}
