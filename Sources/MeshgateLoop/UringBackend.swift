#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim

/// The io_uring backend: multishot accept, connect with a linked timeout, multishot poll for
/// readiness, timeouts, an eventfd read for wake-ups, and cancel-then-close (by `user_data`
/// where the backend knows what is pending on the descriptor: see `UringPendingOperations`).
///
/// Owned by one loop thread (`IORING_SETUP_SINGLE_ISSUER`): create it on that thread and use
/// it only there; `waker` is the only cross-thread entry point.
public final class UringBackend: EventBackend {
    public var kind: IOBackendKind { .uring }
    public let waker: Waker

    private let ring: OpaquePointer
    /// Setup flags the kernel accepted, for the start-up log line.
    public let setupDescription: String
    /// 8-byte landing spot for the eventfd read.
    private let wakeBuffer = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    private let reaped: UnsafeMutablePointer<mg_cqe>
    private let reapCapacity: UInt32 = 512
    private static let pollMask = UInt32(UInt16(bitPattern: mg_POLLIN | mg_POLLOUT | mg_POLLRDHUP))
    /// The watch and connect submitted on each descriptor, cancelled by `user_data` on close.
    private var pending = UringPendingOperations()
    /// Closes and hand-overs that had to cancel by descriptor (a listener, or a descriptor
    /// watched or connected under two tokens): each walks every armed poll in the kernel.
    public private(set) var descriptorCancels = 0

    /// Creates a ring on the calling thread (which then owns it).
    public init(entries: UInt32 = 4096) throws {
        waker = try Waker()
        var flags: UInt32 = 0
        var error: Int32 = 0
        guard let r = mg_ring_create(entries, &flags, &error) else {
            throw SystemCallError("io_uring_setup", Errno(rawValue: -error))
        }
        ring = r
        switch flags {
        case mg_IORING_SETUP_SINGLE_ISSUER | mg_IORING_SETUP_DEFER_TASKRUN: setupDescription = "SINGLE_ISSUER|DEFER_TASKRUN"
        case mg_IORING_SETUP_COOP_TASKRUN: setupDescription = "COOP_TASKRUN"
        default: setupDescription = "no setup flags"
        }
        reaped = .allocate(capacity: Int(reapCapacity))
        armWake()
    }

    deinit {
        mg_ring_destroy(ring)
        wakeBuffer.deallocate()
        reaped.deallocate()
    }

    private func armWake() {
        mg_ring_read(ring, waker.fd, wakeBuffer, 8, Token(kind: .wake, slot: 0, generation: 0).raw)
    }

    public func startAccept(listener: Int32, token: Token, multishot: Bool) {
        pending.untracked(listener)
        if multishot {
            mg_ring_accept_multishot(ring, listener, token.raw)
        } else {
            mg_ring_accept(ring, listener, token.raw)
        }
    }

    public func stopAccept(listener: Int32, token: Token) {
        mg_ring_cancel(ring, token.raw)
    }

    public func connect(fd: Int32, address: UnsafePointer<sockaddr>, length: socklen_t, timeoutNanoseconds: Int64, token: Token) {
        pending.connect(fd, token.raw)
        mg_ring_connect(ring, fd, address, length, token.raw, timeoutNanoseconds)
    }

    public func watch(fd: Int32, token: Token) {
        pending.watch(fd, token.raw)
        mg_ring_poll_multishot(ring, fd, Self.pollMask, token.raw)
    }

    public func close(fd: Int32) {
        cancelPending(
            on: fd, byDescriptor: { mg_ring_cancel_and_close(ring, fd) },
            byTokens: { mg_ring_cancel_data_and_close(ring, fd, $0, $1) })
    }

    public func release(fd: Int32) {
        // Submits at once: the new owner may close `fd` before this loop's next submit.
        cancelPending(on: fd, byDescriptor: { mg_ring_cancel_fd(ring, fd) }, byTokens: { mg_ring_cancel_data_now(ring, $0, $1) })
    }

    /// Forgets what is pending on `fd` and cancels it: by the descriptor when more than one
    /// token of a kind was submitted for it (counted), else by its watch and connect tokens.
    @inline(__always)
    private func cancelPending(on fd: Int32, byDescriptor: () -> Void, byTokens: (_ watch: UInt64, _ connect: UInt64) -> Void) {
        let p = pending.take(fd)
        if p.byDescriptor {
            descriptorCancels += 1
            byDescriptor()
        } else {
            byTokens(p.watch, p.connect)
        }
    }

    public func schedule(afterNanoseconds nanoseconds: Int64, token: Token) {
        mg_ring_timeout(ring, nanoseconds, token.raw)
    }

    public func wait(timeoutNanoseconds: Int64?, _ body: (Completion) -> Void) throws {
        let rc = mg_ring_submit_and_wait(ring, timeoutNanoseconds ?? -1)
        if rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY {
            throw SystemCallError("io_uring_enter", Errno(rawValue: -rc))
        }
        while true {
            let n = mg_ring_reap(ring, reaped, reapCapacity)
            for i in 0..<Int(n) {
                let c = reaped[i]
                let token = Token(raw: c.user_data)
                let more = c.flags & mg_IORING_CQE_F_MORE != 0
                switch token.kind {
                case .none:
                    continue
                case .wake:
                    armWake()
                    body(Completion(token: token, result: c.res))
                case .downstreamReady, .upstreamReady, .auxReady:
                    var r: Readiness = []
                    if c.res >= 0 {
                        let m = Int16(truncatingIfNeeded: c.res)
                        if m & mg_POLLIN != 0 { r.insert(.readable) }
                        if m & mg_POLLOUT != 0 { r.insert(.writable) }
                        if m & (mg_POLLRDHUP | mg_POLLHUP) != 0 { r.insert([.hangup, .readable]) }
                        if m & mg_POLLERR != 0 { r.insert([.error, .readable, .writable]) }
                    }
                    body(Completion(token: token, result: c.res, readiness: r, more: more))
                default:
                    body(Completion(token: token, result: c.res, more: more))
                }
            }
            if n < reapCapacity { break }
        }
    }
}

@available(*, unavailable)
extension UringBackend: Sendable {}
