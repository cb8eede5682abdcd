#if canImport(Glibc)
import Glibc
#endif
import Logging
import MeshgateLoop
import MeshgateTLS

/// Readiness of a connection's sockets, pumping both directions, giving back idle pipes
/// and buffers, and directions that yielded for fairness.
extension ProxyLoop {
    func readiness(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, upstreamSide: Bool, _ c: Completion) {
        let r = c.readiness
        conn.pointee.readinessEvents &+= 1
        if c.result < 0 {
            // The watch itself failed or was cancelled; nothing to do for a live slot but re-arm.
            if c.result != -ECANCELED {
                rewatch(conn, upstreamSide: upstreamSide, c.token)
            }
            return
        }
        if !c.more {
            // Multishot poll ended (e.g. CQ overflow): re-arm.
            rewatch(conn, upstreamSide: upstreamSide, c.token)
        }
        if upstreamSide {
            if r.contains(.readable) { conn.pointee.toDownstream.sourceReadable = true }
            if r.contains(.writable) { conn.pointee.toUpstream.destinationWritable = true }
        } else {
            if r.contains(.readable) { conn.pointee.toUpstream.sourceReadable = true }
            if r.contains(.writable) { conn.pointee.toDownstream.destinationWritable = true }
        }
        guard conn.pointee.phase.isOpen else {
            switch conn.pointee.phase {
            case .readingHeader where !upstreamSide:
                readHeader(conn, slot: slot)
            case .pooled where upstreamSide:
                _ = pooledReadable(conn, slot: slot)
            case .handshaking(let side, _, _) where (side == .upstream) == upstreamSide:
                driveHandshake(conn, slot: slot, upstreamSide: upstreamSide)
            default:
                break  // the flags above wait for the phase that reads them
            }
            return
        }
        if r.contains(.error) {
            let err = conn.pointee.socket(upstreamSide: upstreamSide).map { Socket.pendingError($0.raw) } ?? 0
            if err != 0 {
                sideFailed(slot, upstreamSide: upstreamSide, Errno(rawValue: err))
                return
            }
        }
        pumpBoth(conn, slot: slot)
    }

    /// Watches a side's socket again (a watch that failed or ended).
    private func rewatch(_ conn: UnsafeMutablePointer<Connection>, upstreamSide: Bool, _ token: Token) {
        guard let fd = conn.pointee.socket(upstreamSide: upstreamSide) else { return }
        backend.watch(fd: fd.raw, token: token)
    }

    @inline(__always)
    func pumpBoth(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32) {
        if !pump(conn, slot: slot, toUpstream: true) { return }
        _ = pump(conn, slot: slot, toUpstream: false)
    }

    /// Gives back the pipe or buffer of an empty direction.
    @inline(__always)
    /// A user-space TLS source keeps its buffer while it holds part of a record, unless `force`.
    func releaseChannel(_ f: UnsafeMutablePointer<Flow>, force: Bool = false) {
        if let pipe = f.pointee.pipe {
            if f.pointee.pending == 0 {
                pipes.release(pipe)
            } else {
                pipes.discard(pipe)
            }
            f.pointee.pipe = nil
            counters.subtract(.pipesInUse)
        }
        if let b = f.pointee.buffer {
            if !force && f.pointee.cipherEnd > f.pointee.cipherStart { return }
            buffers.release(b)
            f.pointee.buffer = nil
            counters.subtract(.buffersInUse)
            f.pointee.cipherStart = 0
            f.pointee.cipherEnd = 0
        }
        f.pointee.pending = 0
        f.pointee.bufferOffset = 0
    }

    func runYielded() {
        swap(&runList, &runListSpare)
        for (slot, generation, toUpstream) in runListSpare {
            guard let conn = slab.live(slot, generation: generation), conn.pointee.phase.isOpen else { continue }
            if toUpstream { conn.pointee.toUpstream.queued = false } else { conn.pointee.toDownstream.queued = false }
            pump(conn, slot: slot, toUpstream: toUpstream)
        }
        runListSpare.removeAll(keepingCapacity: true)
    }
}
