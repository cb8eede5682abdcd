#if canImport(Glibc)
import Glibc
#endif

/// What one non-blocking read, write or splice did: the one result type of the I/O funnel
/// (`SocketIO`). EINTR never shows here: the funnel retries it.
public enum IOResult: Equatable, Sendable {
    /// This many bytes moved (more than zero).
    case moved(Int)
    /// The call returned 0: a read or splice found the end of the stream (FIN, or a pipe with
    /// no writer); a write took nothing.
    case eof
    /// EAGAIN: nothing to move now; readiness says when to try again.
    case wouldBlock
    /// Any other error.
    case failed(Errno)

    /// The result of a call that returned `n` (errno already read into `error` when `n < 0`).
    @inlinable
    init(returned n: Int, errno error: Int32) {
        if n > 0 {
            self = .moved(n)
        } else if n == 0 {
            self = .eof
        } else if error == EAGAIN || error == EWOULDBLOCK {
            self = .wouldBlock
        } else {
            self = .failed(Errno(rawValue: error))
        }
    }
}
