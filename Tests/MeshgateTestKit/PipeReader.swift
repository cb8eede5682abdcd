import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Collects what a child process writes to a pipe: a thread reads the pipe with blocking
/// `read(2)` until end of file. Used instead of `FileHandle.readabilityHandler`, whose
/// dispatch source crashed the test process once inside libdispatch's event loop
/// (`_dispatch_event_loop_drain`, CI of cd00ebd, while a test waited for a child).
///
/// The thread holds the reading handle and the buffer, not the owner: a child killed when its
/// owner is released closes the pipe, and the thread ends.
public final class PipeReader: @unchecked Sendable {
    /// What was read so far, and whether the pipe reached end of file.
    private let state = LockedBox((data: Data(), finished: false))
    private let done = DispatchSemaphore(value: 0)

    /// Starts reading `pipe`'s read end (call after the child was started).
    public init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        Thread { [self, handle] in
            let fd = handle.fileDescriptor
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    state.modify { $0.data.append(contentsOf: buffer[0..<n]) }
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                break
            }
            state.modify { $0.finished = true }
            done.signal()
        }.start()
    }

    /// What was read so far.
    public var bytes: Data { state.value.data }

    /// The number of bytes read so far.
    public var count: Int { state.read { $0.data.count } }

    /// Waits (at most `timeout` seconds) until the pipe reached end of file; false on timeout.
    @discardableResult
    public func waitForEnd(timeout: Double) -> Bool {
        if state.read({ $0.finished }) { return true }
        guard done.wait(timeout: .now() + timeout) == .success else { return false }
        done.signal()  // later waiters return at once too
        return true
    }
}
