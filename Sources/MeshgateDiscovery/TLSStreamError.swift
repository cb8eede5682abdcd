import MeshgateLoop

/// Why a `TLSStream` call did not do what it was asked.
public struct TLSStreamError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, for logs.
    public let description: String
    /// The deadline passed (as opposed to a refusal or a failure).
    public let timedOut: Bool
    /// The system call's error when one failed locally (socket, connect), for callers that
    /// tell our own resource exhaustion (EMFILE, ENFILE …) from a remote failure.
    public let errno: Errno?

    init(_ description: String, timedOut: Bool = false, errno: Errno? = nil) {
        self.description = description
        self.timedOut = timedOut
        self.errno = errno
    }
}
