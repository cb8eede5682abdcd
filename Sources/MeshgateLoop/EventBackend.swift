#if canImport(Glibc)
import Glibc
#endif

/// The interface both I/O backends (io_uring and epoll) offer a loop. One backend instance
/// belongs to one loop thread; only `waker` may be used from other threads.
///
/// Operations are completion-shaped: each carries a `Token`, and `wait` reports completions.
/// Sockets that move data are *watched*: the backend reports edge-triggered readiness
/// (readable, writable, hang-up, error) until the socket is closed through `close(fd:)`,
/// and the loop moves bytes with `splice`/`read`/`write` itself.
public protocol EventBackend: AnyObject {
    /// Which backend this is.
    var kind: IOBackendKind { get }

    /// Starts accepting on `listener`: each completion carries a new non-blocking descriptor
    /// or `-errno`; `more == false` means accepting stopped and must be re-armed. With
    /// `multishot` the backend keeps accepting (in bursts); without it, it accepts exactly one
    /// connection (used near the connection limit, so a burst cannot overshoot it).
    func startAccept(listener: Int32, token: Token, multishot: Bool)

    /// Stops accepting on `listener`; it stays open. A final completion may still arrive.
    func stopAccept(listener: Int32, token: Token)

    /// Connects the non-blocking socket `fd` to `address` (copied; the pointer need only be
    /// valid during the call), failing with `-ECANCELED` or `-ETIMEDOUT` after `timeoutNanoseconds`.
    func connect(fd: Int32, address: UnsafePointer<sockaddr>, length: socklen_t, timeoutNanoseconds: Int64, token: Token)

    /// Reports readiness of `fd` under `token` until `fd` is closed with `close(fd:)`.
    /// Readiness present when watching starts is reported too.
    func watch(fd: Int32, token: Token)

    /// Cancels everything pending on `fd` and closes it. Completions already queued for it
    /// may still be reported; their tokens must be stale by then.
    func close(fd: Int32)

    /// Cancels everything pending on `fd` and forgets it without closing it: the descriptor
    /// passes to another owner (another thread), which may close it right after this returns.
    /// So the cancel takes effect now (io_uring submits it at once: a cancel queued past that
    /// close would miss, and a multishot poll would keep the socket's file alive with no
    /// descriptor). Completions already queued for it may still be reported; their tokens must
    /// be stale by then.
    func release(fd: Int32)

    /// Reports `token` once after `nanoseconds`.
    func schedule(afterNanoseconds nanoseconds: Int64, token: Token)

    /// Submits queued operations, waits up to `timeoutNanoseconds` (nil: forever, 0: do not
    /// block) for at least one completion, and hands each completion to `body`.
    func wait(timeoutNanoseconds: Int64?, _ body: (Completion) -> Void) throws

    /// Wakes the loop from another thread; reported as a `.wake` completion.
    var waker: Waker { get }
}
