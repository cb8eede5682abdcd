#if canImport(Glibc)
import Glibc
#endif

/// A POSIX error number, as returned by a failed system call or carried (negated) by an
/// io_uring completion.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    /// The raw `errno` value (positive).
    public let rawValue: Int32

    /// Wraps a raw `errno` value.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The current thread's `errno`.
    public static var current: Errno { Errno(rawValue: errno) }

    public var description: String { String(cString: strerror(rawValue)) }

    public static let again = Errno(rawValue: EAGAIN)
    public static let interrupted = Errno(rawValue: EINTR)
    public static let inProgress = Errno(rawValue: EINPROGRESS)
    public static let connectionReset = Errno(rawValue: ECONNRESET)
    public static let connectionRefused = Errno(rawValue: ECONNREFUSED)
    public static let brokenPipe = Errno(rawValue: EPIPE)
    public static let canceled = Errno(rawValue: ECANCELED)
    public static let timedOut = Errno(rawValue: ETIMEDOUT)
    public static let tooManyOpenFiles = Errno(rawValue: EMFILE)
    public static let fileTableOverflow = Errno(rawValue: ENFILE)
    public static let noSystemCall = Errno(rawValue: ENOSYS)
    public static let notPermitted = Errno(rawValue: EPERM)
    public static let invalidArgument = Errno(rawValue: EINVAL)
    public static let noBufferSpace = Errno(rawValue: ENOBUFS)
    public static let noMemory = Errno(rawValue: ENOMEM)

    /// True for EMFILE/ENFILE: the process or the system is out of file descriptors.
    public var isDescriptorExhaustion: Bool { rawValue == EMFILE || rawValue == ENFILE }
}

/// A failed system call: its name and the error number.
public struct SystemCallError: Error, CustomStringConvertible, Sendable {
    /// The call that failed, e.g. `bind`.
    public let call: String
    /// The error it returned.
    public let errno: Errno

    public init(_ call: String, _ errno: Errno) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call): \(errno) (errno \(errno.rawValue))" }
}
