#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MeshgateLoop
import MeshgateNames
import MeshgateTLS

/// A TLS connection over a non-blocking socket, driven with blocking calls that each take a
/// deadline: the control streams a gateway runs off its loops (a mirror's discover stream and
/// probes, and the serving side of a discover stream). Not for the data path.
///
/// One thread uses a stream at a time; `interrupt()` may be called from any thread to make a
/// blocked call return (it shuts the socket down).
public final class TLSStream: @unchecked Sendable {
    /// The socket; -1 once closed.
    private var fd: Int32
    private let tls: TLSConnection
    private let lock = NSLock()
    private var interrupted = false
    /// Plaintext read but not yet returned.
    private var pending: [UInt8] = []
    /// Asked between waits: true ends the call as `interrupt()` does.
    private var isCancelled: @Sendable () -> Bool = { false }

    /// The peer's verified identity.
    public var peerIdentity: WorkloadIdentity? { tls.peerIdentity }

    /// Takes over `fd` (non-blocking, connected) and a TLS connection whose handshake is done;
    /// `leftover` is plaintext already read from it that the next `read` returns first.
    public init(adopting fd: Int32, tls: TLSConnection, leftover: [UInt8] = []) {
        self.fd = fd
        self.tls = tls
        self.pending = leftover
    }

    deinit { closeDescriptor() }

    /// Connects to `address`, completes an mTLS handshake proving `expected`, all before
    /// `deadline`; `isCancelled` is asked every 250 ms or so while waiting, and ends the
    /// attempt when it returns true (its owner is stopping).
    public static func connect(
        to address: SocketAddress, context: TLSContext, expected: WorkloadIdentity, deadline: ContinuousClock.Instant,
        isCancelled: @escaping @Sendable () -> Bool = { false }
    ) throws(TLSStreamError) -> TLSStream {
        let fd: Int32
        switch Socket.makeStream(family: address.family) {
        case .success(let s): fd = s
        case .failure(let e): throw TLSStreamError("socket: \(e)", errno: e)
        }
        let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc < 0 && errno != EINPROGRESS {
            let e = Errno(rawValue: errno)
            Glibc.close(fd)
            throw TLSStreamError("connect to \(address): \(e)", errno: e)
        }
        let tls: TLSConnection
        do {
            tls = try TLSConnection(context: context, expectedPeerIdentity: expected)
        } catch {
            Glibc.close(fd)
            throw TLSStreamError("TLS: \(error)")
        }
        let stream = TLSStream(adopting: fd, tls: tls)
        stream.isCancelled = isCancelled
        do {
            if rc < 0 {
                try stream.waitFor(Int16(POLLOUT), deadline: deadline, what: "connecting to \(address)")
                let e = Socket.pendingError(fd)
                if e != 0 { throw TLSStreamError("connect to \(address): \(Errno(rawValue: e))") }
            }
            Socket.setNoDelay(fd)
            try stream.handshake(deadline: deadline, peer: address)
        } catch let error as TLSStreamError {
            stream.close()
            throw error
        } catch {
            stream.close()
            throw TLSStreamError("\(error)")
        }
        return stream
    }

    /// Takes over `fd` (a connected socket, made non-blocking here) and completes the server
    /// side of an mTLS handshake before `deadline` (the discover stream's serving side is
    /// handed over by a loop instead; this is for tools and tests).
    public static func accept(fd: Int32, context: TLSContext, deadline: ContinuousClock.Instant) throws(TLSStreamError) -> TLSStream {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let tls: TLSConnection
        do {
            tls = try TLSConnection(context: context)
        } catch {
            Glibc.close(fd)
            throw TLSStreamError("TLS: \(error)")
        }
        let stream = TLSStream(adopting: fd, tls: tls)
        do {
            try stream.handshake(deadline: deadline, peer: "the client")
        } catch {
            stream.close()
            throw error
        }
        return stream
    }

    private func handshake(deadline: ContinuousClock.Instant, peer: CustomStringConvertible) throws(TLSStreamError) {
        while true {
            let result = tls.handshake()
            try flush(deadline: deadline)
            switch result {
            case .complete: return
            case .failed(let error): throw TLSStreamError("TLS handshake with \(peer): \(error)")
            case .inProgress: try receiveSome(deadline: deadline, what: "the TLS handshake with \(peer)")
            }
        }
    }

    /// Writes `bytes` as plaintext and sends all of it before `deadline`.
    public func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant) throws(TLSStreamError) {
        guard case .written = tls.writePlaintext(bytes) else { throw TLSStreamError("the TLS connection cannot be written") }
        try flush(deadline: deadline)
    }

    /// Plaintext that has arrived, waiting until `deadline` for some; [] means the peer ended
    /// its stream cleanly (close_notify or, after it, EOF).
    public func read(max: Int = 16384, deadline: ContinuousClock.Instant) throws(TLSStreamError) -> [UInt8] {
        if !pending.isEmpty {
            let n = min(max, pending.count)
            let out = Array(pending[0..<n])
            pending.removeFirst(n)
            return out
        }
        var buffer = [UInt8](repeating: 0, count: max)
        while true {
            let result = buffer.withUnsafeMutableBytes { tls.readPlaintext(into: $0) }
            try flush(deadline: deadline)
            switch result {
            case .bytes(let n) where n > 0: return Array(buffer[0..<n])
            case .bytes, .needMoreInput: try receiveSome(deadline: deadline, what: "reading")
            case .closeNotify: return []
            case .truncated: throw TLSStreamError("the peer closed without close_notify")
            case .failed(let error): throw TLSStreamError("TLS: \(error)")
            }
        }
    }

    /// Whether the peer has sent anything (or closed) that a `read` would now see, without blocking.
    public var hasInput: Bool {
        if !pending.isEmpty || tls.bufferedPlaintextCount > 0 { return true }
        guard fd >= 0 else { return true }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) > 0
    }

    /// Sends close_notify (best effort, no waiting) and closes the socket.
    public func close() {
        if case .closeNotifySent = tls.shutdown() { try? flush(deadline: .now) }
        closeDescriptor()
    }

    /// Closes the socket with a reset: the peer must not take the end for a clean one.
    public func reset() {
        lock.lock()
        if fd >= 0 { Socket.armReset(fd) }
        lock.unlock()
        closeDescriptor()
    }

    /// Makes a call blocked in another thread return with an error, now and from now on.
    public func interrupt() {
        lock.lock()
        interrupted = true
        if fd >= 0 { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
        lock.unlock()
    }

    private func closeDescriptor() {
        lock.lock()
        let f = fd
        fd = -1
        lock.unlock()
        if f >= 0 { Glibc.close(f) }
    }

    /// Sends every ciphertext byte OpenSSL holds.
    private func flush(deadline: ContinuousClock.Instant) throws(TLSStreamError) {
        while tls.pendingOutboundCount > 0 {
            guard fd >= 0 else { throw TLSStreamError("closed") }
            let (sent, stopped) = tls.sendOutbound(to: fd)
            if sent > 0 { continue }
            switch stopped {
            case .failed(let e)?: throw TLSStreamError("send: \(e)")
            default: try waitFor(Int16(POLLOUT), deadline: deadline, what: "sending")
            }
        }
    }

    /// Feeds OpenSSL whatever ciphertext has arrived, waiting for some until `deadline`.
    private func receiveSome(deadline: ContinuousClock.Instant, what: String) throws(TLSStreamError) {
        var scratch = [UInt8](repeating: 0, count: 16384 + 64)
        while true {
            guard fd >= 0 else { throw TLSStreamError("closed") }
            switch scratch.withUnsafeMutableBytes({ SocketIO.recv(fd, into: $0.baseAddress, count: $0.count) }) {
            case .moved(let n):
                scratch.withUnsafeBytes { tls.receive(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                return
            case .eof:
                tls.receiveEOF()
                return
            case .failed(let e):
                throw TLSStreamError("recv: \(e)")
            case .wouldBlock:
                try waitFor(Int16(POLLIN), deadline: deadline, what: what)
            }
        }
    }

    /// Waits for `events` on the socket, in slices, so that `interrupt()` is noticed.
    private func waitFor(_ events: Int16, deadline: ContinuousClock.Instant, what: String) throws(TLSStreamError) {
        while true {
            lock.lock()
            let stop = interrupted
            let f = fd
            lock.unlock()
            if stop || f < 0 || isCancelled() { throw TLSStreamError("interrupted") }
            let left = deadline - .now
            if left <= .zero { throw TLSStreamError("timed out \(what)", timedOut: true) }
            let ms = Int32(clamping: min(max(left.milliseconds, 1), 250))
            var p = pollfd(fd: f, events: events, revents: 0)
            let rc = poll(&p, 1, ms)
            if rc > 0 { return }
            if rc < 0 && errno != EINTR { throw TLSStreamError("poll: \(Errno(rawValue: errno))") }
        }
    }
}
