#if canImport(Glibc)
import Glibc
#endif

/// An error from the load harness: a failed system call, a bad address, or a timeout.
public enum LoadError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A system call failed with `errno`.
    case system(call: String, errno: Int32)
    /// An endpoint string could not be parsed.
    case invalidEndpoint(String)
    /// A host name did not resolve.
    case unresolvable(host: String, reason: String)
    /// An operation did not finish before its deadline.
    case timedOut(String)
    /// The peer closed or reset the connection while an operation still needed it.
    case connectionClosed(String)

    public var description: String {
        switch self {
        case .system(let call, let code): return "\(call): \(errnoName(code))"
        case .invalidEndpoint(let text): return "invalid endpoint '\(text)' (expected HOST:PORT or [V6]:PORT)"
        case .unresolvable(let host, let reason): return "cannot resolve '\(host)': \(reason)"
        case .timedOut(let what): return "timed out: \(what)"
        case .connectionClosed(let what): return "connection closed: \(what)"
        }
    }

    /// A `.system` error carrying the current `errno`.
    static func lastErrno(_ call: String) -> LoadError {
        .system(call: call, errno: errno)
    }
}

/// `strerror` text with the errno number, e.g. "Connection refused (111)".
func errnoName(_ code: Int32) -> String {
    if let p = strerror(code) { return "\(String(cString: p)) (\(code))" }
    return "errno \(code)"
}
