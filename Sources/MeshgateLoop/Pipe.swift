#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim

/// A splice pipe: read end and write end, both non-blocking and close-on-exec.
public struct Pipe: Hashable, Sendable {
    /// The read end.
    public let read: Descriptor
    /// The write end.
    public let write: Descriptor

    /// A new pipe, or the errno of `pipe2`.
    public static func open() -> Result<Pipe, Errno> {
        var fds: (Int32, Int32) = (-1, -1)
        let rc = withUnsafeMutablePointer(to: &fds) {
            $0.withMemoryRebound(to: Int32.self, capacity: 2) { mg_pipe_nonblock($0) }
        }
        guard rc == 0, let read = Descriptor(fds.0), let write = Descriptor(fds.1) else { return .failure(.current) }
        return .success(Pipe(read: read, write: write))
    }

    /// Asks for a buffer of `bytes` (`F_SETPIPE_SZ`); the size the kernel granted, or nil when
    /// it refused (over `/proc/sys/fs/pipe-max-size` for an unprivileged process).
    public func resize(to bytes: Int) -> Int? {
        let got = fcntl(write.raw, mg_F_SETPIPE_SZ, Int32(clamping: bytes))
        return got > 0 ? Int(got) : nil
    }

    /// Closes both ends.
    public func close() {
        read.close()
        write.close()
    }
}
