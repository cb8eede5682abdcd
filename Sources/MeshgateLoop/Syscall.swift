#if canImport(Glibc)
import Glibc
#endif

/// The one funnel for set-up system calls: retries EINTR, traps on programmer errors
/// (EBADF, EFAULT), and throws everything else with the call's name.
@usableFromInline
enum Syscall {
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
