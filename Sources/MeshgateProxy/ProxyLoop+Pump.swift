#if canImport(Glibc)
import Glibc
#endif
import MeshgateLoop
import MeshgateTLS

/// The result of moving bytes one way.
enum PumpStop {
    case waiting, yielded, finished
    case sourceFailed(Errno), destinationFailed(Errno)
}

/// Bytes one pump call moved, by path.
struct MovedBytes {
    var spliced = 0
    var userspace = 0
    var total: Int { spliced + userspace }
}

/// The two ends of one direction as far as TLS goes: the source side's RX and the destination
/// side's TX `Transport`.
struct FlowEnds {
    var source: Transport = .plain
    var destination: Transport = .plain
    /// The OpenSSL source is waiting to hand over (reads record by record until it can).
    var sourceHandingOver = false

    static let plain = FlowEnds()

    @inline(__always) var sourceTLS: TLSConnection? { source.openSSL }
    @inline(__always) var destinationTLS: TLSConnection? { destination.openSSL }
    @inline(__always) var sourceRecords: TLSRecordLayer? { source.records }
    @inline(__always) var destinationRecords: TLSRecordLayer? { destination.records }
    @inline(__always) var sourceKernelTLS: Bool { source.isKernelTLS }
    @inline(__always) var destinationKernelTLS: Bool { destination.isKernelTLS }

    /// Either end needs bytes in user space (OpenSSL or the record layer).
    var userspace: Bool { !(source.isPlain || source.isKernelTLS) || !(destination.isPlain || destination.isKernelTLS) }
}

/// Moving bytes one way: choosing the splice or the buffered path, and the TLS ends and
/// storage of a direction.
extension ProxyLoop {
    /// Moves what can be moved one way. Returns false when the connection was closed.
    @discardableResult
    func pump(_ conn: UnsafeMutablePointer<Connection>, slot: UInt32, toUpstream: Bool, flushOpposite: Bool = true) -> Bool {
        guard let src = conn.pointee.socket(upstreamSide: !toUpstream), let dst = conn.pointee.socket(upstreamSide: toUpstream) else {
            assertionFailure("a pump before both sides are connected")
            return true
        }
        let flow = flow(conn, toUpstream: toUpstream)
        if flow.pointee.finished { return true }
        var moved = MovedBytes()
        let outcome: PumpStop
        var ends = FlowEnds.plain
        if !conn.pointee.downstreamTransport.isPlain || !conn.pointee.upstreamTransport.isPlain {
            ends = self.ends(conn, toUpstream: toUpstream)
        }
        if ends.userspace || flow.pointee.copyPath || flow.pointee.buffer != nil {
            outcome = pumpBuffered(flow, src: src, dst: dst, ends: ends, moved: &moved)
        } else {
            outcome = pumpSplice(flow, src: src, dst: dst, ends: ends, moved: &moved)
        }
        if moved.total > 0 {
            conn.pointee.lastActivity = now
            counters.add(toUpstream ? .bytesDownstreamToUpstream : .bytesUpstreamToDownstream, UInt64(moved.total))
            if toUpstream { conn.pointee.bytesUp &+= UInt64(moved.total) } else { conn.pointee.bytesDown &+= UInt64(moved.total) }
            if moved.spliced > 0 { counters.add(.bytesSpliced, UInt64(moved.spliced)) }
            if moved.userspace > 0 { counters.add(.bytesUserspace, UInt64(moved.userspace)) }
        }
        switch outcome {
        case .waiting, .yielded:
            if case .yielded = outcome, !flow.pointee.queued {
                flow.pointee.queued = true
                runList.append((slot, conn.pointee.generation, toUpstream))
            }
            // Reading can make TLS answer the peer (a KeyUpdate reply): that goes out on the
            // source socket, which the other direction writes.
            if let s = ends.sourceTLS, s.pendingOutboundCount > 0,
                conn.pointee.transport(upstreamSide: !toUpstream).tx.openSSL == nil
            {
                // OpenSSL, still reading, wants to write (a KeyUpdate reply, an alert) but this
                // side's writing has moved on: the peer cannot be answered in order.
                limits.warning("tls-late-write", "loop \(index): TLS peer needs an answer OpenSSL can no longer send; closing")
                sideFailed(slot, upstreamSide: !toUpstream, Errno(rawValue: EPROTO))
                return false
            }
            if flushOpposite,
                (ends.sourceTLS?.pendingOutboundCount ?? 0) > 0 || ends.sourceRecords?.keyUpdateRequested == true
            {
                if !pump(conn, slot: slot, toUpstream: !toUpstream, flushOpposite: false) { return false }
            }
            // A side still in OpenSSL may be ready to hand over to the record layer or the kernel.
            if conn.pointee.downstreamTransport.rx.openSSL != nil || conn.pointee.upstreamTransport.rx.openSSL != nil {
                return handOverIfReady(conn, slot: slot)
            }
            return true
        case .finished:
            // Half-closed, or (the other way finished too) the end.
            return advance(conn, slot: slot, .finished(toUpstream ? .toUpstream : .toDownstream))
        case .sourceFailed(let e):
            sideFailed(slot, upstreamSide: !toUpstream, e)
            return false
        case .destinationFailed(let e):
            sideFailed(slot, upstreamSide: toUpstream, e)
            return false
        }
    }

    /// The TLS ends of one direction.
    @inline(__always)
    func ends(_ conn: UnsafeMutablePointer<Connection>, toUpstream: Bool) -> FlowEnds {
        let source = conn.pointee.transport(upstreamSide: !toUpstream).rx
        let stuck = conn.pointee.handOverFailed & (toUpstream ? 1 : 2) != 0
        return FlowEnds(
            source: source, destination: conn.pointee.transport(upstreamSide: toUpstream).tx,
            sourceHandingOver: source.openSSL != nil && !stuck)
    }

    /// The storage of one direction inside a slab slot.
    @inline(__always)
    func flow(_ conn: UnsafeMutablePointer<Connection>, toUpstream: Bool) -> UnsafeMutablePointer<Flow> {
        let offset = toUpstream ? K.toUpstreamOffset : K.toDownstreamOffset
        return (UnsafeMutableRawPointer(conn) + offset).assumingMemoryBound(to: Flow.self)
    }
}
