#if canImport(Glibc)
import Glibc
#endif
import MeshgateLoop
import MeshgateTLS

/// The buffered path: user-space buffers and TLS in user space, and its record helpers.
extension ProxyLoop {
    /// Buffered path: source → user-space buffer → destination, with TLS in user space on
    /// either end. The buffer holds what goes to the destination next (`bufferOffset`,
    /// `pending`): plaintext, or records sealed in place for a record-layer destination. A
    /// record-layer source reads ciphertext into `buffer[cipherStart..<cipherEnd]` and opens
    /// records in place (re-sealing them in place for a TLS-to-TLS hop). An OpenSSL destination
    /// takes plaintext into its own buffer, and more only once that is sent. Memory per
    /// direction: one buffer, and only while bytes are in flight.
    ///
    /// `moved` counts payload only, never below zero, when the destination takes it: sent (plain
    /// TCP), written to OpenSSL, or sealed into a record (record layer). Counting sealed records
    /// as they were sent, minus their overhead at sealing, lost the overhead of a record whose
    /// send took two calls (a call's negative total is not added) and over-counted by it.
    @inline(__always)
    func pumpBuffered(
        _ f: UnsafeMutablePointer<Flow>, src: Descriptor, dst: Descriptor, ends: FlowEnds, moved: inout MovedBytes
    ) -> PumpStop {
        let size = buffers.size
        while true {
            // 1. Whatever waits for the destination goes first.
            if let d = ends.destinationTLS, d.pendingOutboundCount > 0 {
                guard f.pointee.destinationWritable else { return .waiting }
                if let stopped = d.sendOutbound(to: dst.raw).stopped { return destinationWriteEnded(f, stopped, dst: dst, ends: ends) }
                continue
            }
            if f.pointee.pending > 0 {
                let start = f.pointee.buffer! + Int(f.pointee.bufferOffset)
                if let d = ends.destinationTLS {
                    let chunk = min(Int(f.pointee.pending), TLSRecordLayer.maxPlaintext)
                    guard case .written(let n) = d.writePlaintext(UnsafeRawBufferPointer(start: start, count: chunk)) else {
                        return .destinationFailed(Errno(rawValue: EPROTO))
                    }
                    f.pointee.pending -= Int32(n)
                    f.pointee.bufferOffset += Int32(n)
                    moved.userspace += n
                    continue
                }
                guard f.pointee.destinationWritable else { return .waiting }
                let result = SocketIO.send(dst, start, count: Int(f.pointee.pending))
                if case .moved(let n) = result {
                    f.pointee.pending -= Int32(n)
                    f.pointee.bufferOffset += Int32(n)
                    // Records for a record-layer destination were counted (payload only) when sealed.
                    if ends.destinationRecords == nil { moved.userspace += n }
                    continue
                }
                return destinationWriteEnded(f, result, dst: dst, ends: ends)
            }
            // 2. The destination's peer asked for new keys: answer before more data.
            if let d = ends.destinationRecords, d.keyUpdateRequested {
                let at = freeSpace(f, need: 5 + TLSRecordLayer.overhead)
                guard let length = try? d.sealKeyUpdate(at: f.pointee.buffer! + at, crypter: crypter) else {
                    return .destinationFailed(Errno(rawValue: EPROTO))
                }
                f.pointee.bufferOffset = Int32(at)
                f.pointee.pending = Int32(length)
                continue
            }
            // 3. A record-layer source: open the next complete record, if one is here.
            if let r = ends.sourceRecords, f.pointee.cipherStart < f.pointee.cipherEnd {
                let at = Int(f.pointee.cipherStart)
                let available = UnsafeRawBufferPointer(start: f.pointee.buffer! + at, count: Int(f.pointee.cipherEnd) - at)
                switch TLSRecordLayer.recordLength(available) {
                case .failure(let error):
                    limits.warning("tls-record", "loop \(index): TLS stream failed: \(error)")
                    return .sourceFailed(Errno(rawValue: EPROTO))
                case .success(let length):
                    let record = f.pointee.buffer! + at
                    f.pointee.cipherStart += Int32(length)
                    switch r.open(record, length: length, crypter: crypter) {
                    case .data(let n):
                        guard n > 0 else { continue }
                        if let d = ends.destinationRecords {
                            f.pointee.bufferOffset = Int32(at)
                            f.pointee.pending = Int32(d.seal(record, plaintextLength: n, crypter: crypter))
                            moved.userspace += n  // payload, counted as sealed
                        } else {
                            f.pointee.bufferOffset = Int32(at + TLSRecordLayer.headerLength)
                            f.pointee.pending = Int32(n)
                            if let stop = coalesceRecords(f, r) { return stop }
                        }
                        continue
                    case .ignored:
                        continue
                    case .keyUpdated:
                        counters.add(.tlsKeyUpdates)
                        continue
                    case .closeNotify:
                        f.pointee.cipherStart = f.pointee.cipherEnd
                        f.pointee.sourceEOF = true
                        continue
                    case .fatal(let why):
                        limits.warning("tls-record", "loop \(index): TLS stream failed: \(why)")
                        return .sourceFailed(Errno(rawValue: EPROTO))
                    }
                case nil:
                    break
                }
            }
            // 4. Nothing waits: end the destination's stream, or read more.
            if f.pointee.sourceEOF {
                if let d = ends.destinationTLS, !d.sentCloseNotify {
                    if case .failed = d.shutdown() { return .destinationFailed(Errno(rawValue: EPROTO)) }
                    continue  // close_notify is now waiting to be sent
                }
                if let d = ends.destinationRecords, !f.pointee.closeNotifySent {
                    f.pointee.cipherStart = 0
                    f.pointee.cipherEnd = 0
                    let at = freeSpace(f, need: 2 + TLSRecordLayer.overhead)
                    f.pointee.bufferOffset = Int32(at)
                    f.pointee.pending = Int32(d.sealCloseNotify(at: f.pointee.buffer! + at, crypter: crypter))
                    f.pointee.closeNotifySent = true
                    continue
                }
                releaseChannel(f, force: true)
                return finish(f, dst: dst, ends: ends)
            }
            if moved.total >= K.turnBudget { return .yielded }
            if f.pointee.buffer == nil {
                f.pointee.buffer = buffers.acquire()
                counters.add(.buffersInUse)
            }
            if ends.sourceRecords != nil {
                // Keep the partial record at the front and read behind it.
                let carry = Int(f.pointee.cipherEnd - f.pointee.cipherStart)
                if f.pointee.cipherStart > 0 {
                    if carry > 0 { (f.pointee.buffer!).copyMemory(from: f.pointee.buffer! + Int(f.pointee.cipherStart), byteCount: carry) }
                    f.pointee.cipherStart = 0
                    f.pointee.cipherEnd = Int32(carry)
                }
                guard f.pointee.sourceReadable else {
                    releaseChannel(f)
                    return .waiting
                }
                let result = SocketIO.recv(src, into: f.pointee.buffer! + carry, count: size - carry)
                switch result {
                case .moved(let n):
                    f.pointee.cipherEnd += Int32(n)
                    continue
                case .eof:
                    return truncated()  // close_notify would have ended the stream first
                case .wouldBlock, .failed:
                    return sourceReadStopped(f, result)
                }
            }
            // Plaintext goes where a record-layer destination seals it in place.
            let base = ends.destinationRecords != nil ? TLSRecordLayer.headerLength : 0
            let room = ends.destinationRecords != nil ? TLSRecordLayer.maxPlaintext : size
            let space = UnsafeMutableRawBufferPointer(start: f.pointee.buffer! + base, count: room)
            if let s = ends.sourceTLS {
                switch s.readPlaintext(into: space) {
                case .bytes(let n) where n > 0:
                    stage(f, plaintext: n, ends: ends, moved: &moved)
                    continue
                case .bytes, .needMoreInput:
                    break
                case .closeNotify:
                    f.pointee.sourceEOF = true
                    continue
                case .truncated:
                    return truncated()
                case .failed(let error):
                    limits.warning("tls-read", "loop \(index): TLS stream failed: \(error)")
                    return .sourceFailed(Errno(rawValue: EPROTO))
                }
                // A side waiting to hand over reads record by record, so that it can stop
                // exactly where the record layer or the kernel takes over.
                let shortfall = s.incompleteRecordShortfall
                if ends.sourceHandingOver && shortfall == 0 && handOverAllowed(s) {
                    releaseChannel(f)
                    return .waiting  // pump() hands the side over and pumps again
                }
                guard f.pointee.sourceReadable else {
                    releaseChannel(f)
                    return .waiting
                }
                let want = ends.sourceHandingOver ? (shortfall > 0 ? shortfall : 5) : tlsScratch.count
                let result = SocketIO.recv(src, into: tlsScratch.baseAddress, count: min(want, tlsScratch.count))
                switch result {
                case .moved(let n):
                    s.receive(UnsafeRawBufferPointer(rebasing: tlsScratch[0..<n]))
                    continue
                case .eof:
                    s.receiveEOF()
                    continue
                case .wouldBlock, .failed:
                    return sourceReadStopped(f, result)
                }
            }
            guard f.pointee.sourceReadable else {
                releaseChannel(f)
                return .waiting
            }
            let result: IOResult
            if let d = ends.destinationRecords {
                // Up to three records' worth in one readv, each straight into its record slot.
                result = readIntoRecordSlots(f, src: src)
                if case .moved(let n) = result {
                    sealRecordSlots(f, plaintext: n, d, moved: &moved)
                    continue
                }
            } else {
                result = SocketIO.recv(src, into: space.baseAddress, count: room)
                if case .moved(let n) = result {
                    stage(f, plaintext: n, ends: ends, moved: &moved)
                    continue
                }
            }
            switch sourceReadEnded(f, src: src, result, ends: ends) {
            case .readOn: continue
            case .stop(let stop): return stop
            case .failed(let e): return .sourceFailed(e)
            }
        }
    }

    /// Makes `n` plaintext bytes just read (at the buffer's start, or at offset 5 for a
    /// record-layer destination) the bytes to send next, sealing them first if needed.
    @inline(__always)
    func stage(_ f: UnsafeMutablePointer<Flow>, plaintext n: Int, ends: FlowEnds, moved: inout MovedBytes) {
        f.pointee.bufferOffset = 0
        if let d = ends.destinationRecords {
            f.pointee.pending = Int32(d.seal(f.pointee.buffer!, plaintextLength: n, crypter: crypter))
            moved.userspace += n  // payload, counted as sealed
        } else {
            f.pointee.pending = Int32(n)
        }
    }

    /// Reads into the plaintext areas of up to three consecutive record slots (header room
    /// before each, tag room after) with one `readv`.
    @inline(__always)
    func readIntoRecordSlots(_ f: UnsafeMutablePointer<Flow>, src: Descriptor) -> IOResult {
        let slot = TLSRecordLayer.maxPlaintext + TLSRecordLayer.overhead
        let base = f.pointee.buffer!
        var iov = (
            iovec(iov_base: base + TLSRecordLayer.headerLength, iov_len: TLSRecordLayer.maxPlaintext),
            iovec(iov_base: base + slot + TLSRecordLayer.headerLength, iov_len: TLSRecordLayer.maxPlaintext),
            iovec(iov_base: base + 2 * slot + TLSRecordLayer.headerLength, iov_len: TLSRecordLayer.maxPlaintext))
        return withUnsafeMutableBytes(of: &iov) { SocketIO.readv(src, $0.baseAddress!.assumingMemoryBound(to: iovec.self), count: 3) }
    }

    /// Seals the `n` bytes `readIntoRecordSlots` read: full slots, then the partial last one,
    /// which leaves the records back to back, ready to send in one go.
    @inline(__always)
    func sealRecordSlots(_ f: UnsafeMutablePointer<Flow>, plaintext n: Int, _ d: TLSRecordLayer, moved: inout MovedBytes) {
        var left = n
        var at = 0
        while left > 0 {
            let take = min(left, TLSRecordLayer.maxPlaintext)
            at += d.seal(f.pointee.buffer! + at, plaintextLength: take, crypter: crypter)
            left -= take
        }
        f.pointee.bufferOffset = 0
        f.pointee.pending = Int32(at)
        moved.userspace += n  // payload, counted as sealed
    }

    /// Appends the plaintext of the complete data records that follow to the staged one, so
    /// that one send carries several. Non-nil when a record ends the connection.
    func coalesceRecords(_ f: UnsafeMutablePointer<Flow>, _ r: TLSRecordLayer) -> PumpStop? {
        while f.pointee.cipherStart < f.pointee.cipherEnd {
            let at = Int(f.pointee.cipherStart)
            let available = UnsafeRawBufferPointer(start: f.pointee.buffer! + at, count: Int(f.pointee.cipherEnd) - at)
            guard case .success(let length)? = TLSRecordLayer.recordLength(available) else { return nil }
            let record = f.pointee.buffer! + at
            f.pointee.cipherStart += Int32(length)
            switch r.open(record, length: length, crypter: crypter) {
            case .data(let n):
                // The staged plaintext ends before this record's body: move the new bytes down.
                let end = f.pointee.buffer! + Int(f.pointee.bufferOffset + f.pointee.pending)
                end.copyMemory(from: record + TLSRecordLayer.headerLength, byteCount: n)
                f.pointee.pending += Int32(n)
            case .ignored:
                continue
            case .keyUpdated:
                counters.add(.tlsKeyUpdates)
            case .closeNotify:
                f.pointee.cipherStart = f.pointee.cipherEnd
                f.pointee.sourceEOF = true
                return nil
            case .fatal(let why):
                limits.warning("tls-record", "loop \(index): TLS stream failed: \(why)")
                return .sourceFailed(Errno(rawValue: EPROTO))
            }
        }
        return nil
    }

    /// Where a record of `need` bytes can be written without touching a partial received
    /// record: behind it, after moving it to the front if needed. Acquires the buffer.
    func freeSpace(_ f: UnsafeMutablePointer<Flow>, need: Int) -> Int {
        if f.pointee.buffer == nil {
            f.pointee.buffer = buffers.acquire()
            counters.add(.buffersInUse)
            f.pointee.cipherStart = 0
            f.pointee.cipherEnd = 0
        }
        if Int(f.pointee.cipherEnd) + need > buffers.size {
            let carry = Int(f.pointee.cipherEnd - f.pointee.cipherStart)
            (f.pointee.buffer!).copyMemory(from: f.pointee.buffer! + Int(f.pointee.cipherStart), byteCount: carry)
            f.pointee.cipherStart = 0
            f.pointee.cipherEnd = Int32(carry)
        }
        return Int(f.pointee.cipherEnd)
    }
}
