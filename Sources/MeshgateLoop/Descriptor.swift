#if canImport(Glibc)
import Glibc
#endif

/// An open file descriptor: never negative, so "no descriptor" is `Descriptor?` rather than a
/// `-1` sentinel. A trivial wrapper of the number (no class, no reference counting): it costs
/// what an `Int32` costs and is passed like one.
public struct Descriptor: Hashable, Sendable {
    /// The kernel's number for it.
    public let raw: Int32

    /// Wraps a number a system call returned; nil for a negative one (a failed call).
    @inlinable
    public init?(_ raw: Int32) {
        guard raw >= 0 else { return nil }
        self.raw = raw
    }

    /// Closes it at once (`close(2)`); the one synchronous close of a `Descriptor`.
    @inlinable
    public func close() {
        _ = Glibc.close(raw)
    }
}
