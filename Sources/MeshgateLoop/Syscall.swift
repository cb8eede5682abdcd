#if canImport(Glibc)
import Glibc
#endif

/// The one funnel for system calls: retries EINTR, traps on programmer errors
/// (EBADF, EFAULT), and turns everything else into a value.
@usableFromInline
enum Syscall {
    /// The outcome of a non-blocking call: a value, "would block", or an error.
    @usableFromInline
    enum Outcome<T> {
        case value(T)
        case wouldBlock
        case failed(Errno)
    }

    /// Runs `body` until it does not fail with EINTR. `body` returns -1 and sets errno on failure.
    @inlinable @inline(__always)
    static func run<T: FixedWidthInteger>(_ name: StaticString, _ body: () -> T) -> Outcome<T> {
        while true {
            let r = body()
            if r >= 0 { return .value(r) }
            let e = errno
            switch e {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            case EBADF, EFAULT:
                fatalError("\(name): programmer error: \(Errno(rawValue: e))")
            default: return .failed(Errno(rawValue: e))
            }
        }
    }

    /// Runs `body`, retrying EINTR, and throws the failure with the call's name.
    @inlinable
    @discardableResult
    static func check<T: FixedWidthInteger>(_ name: String, _ body: () -> T) throws -> T {
        while true {
            let r = body()
            if r >= 0 { return r }
            let e = errno
            if e == EINTR { continue }
            if e == EBADF || e == EFAULT {
                fatalError("\(name): programmer error: \(Errno(rawValue: e))")
            }
            throw SystemCallError(name, Errno(rawValue: e))
        }
    }
}
