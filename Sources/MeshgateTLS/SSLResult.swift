import COpenSSL

/// `SSL_get_error` for a failed SSL call, as a value. Must be taken before the error queue is drained.
enum SSLResult: Equatable {
    /// More ciphertext is needed (the read BIO is empty).
    case wantRead
    /// The write BIO refused bytes; a memory BIO never does.
    case wantWrite
    /// The peer sent close_notify.
    case zeroReturn
    /// The transport ended or failed below TLS (for memory BIOs: end of stream without close_notify).
    case syscall
    /// A protocol or library error; details are in the error queue.
    case ssl
    /// Any other `SSL_ERROR_*` value (callbacks that suspend, never used here).
    case other(Int32)

    init(_ ssl: OpaquePointer, returnCode: Int32) {
        switch SSL_get_error(ssl, returnCode) {
        case SSL_ERROR_WANT_READ: self = .wantRead
        case SSL_ERROR_WANT_WRITE: self = .wantWrite
        case SSL_ERROR_ZERO_RETURN: self = .zeroReturn
        case SSL_ERROR_SYSCALL: self = .syscall
        case SSL_ERROR_SSL: self = .ssl
        case let other: self = .other(other)
        }
    }
}
