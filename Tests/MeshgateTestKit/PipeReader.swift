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
    private let lock = NSLock()
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)
    private var finished = false

    /// Starts reading `pipe`'s read end (call after the child was started).
    public init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        Thread { [self, handle] in
            let fd = handle.fileDescriptor
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    lock.lock()
                    data.append(contentsOf: buffer[0..<n])
                    lock.unlock()
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                break
            }
            lock.lock()
            finished = true
            lock.unlock()
            done.signal()
        }.start()
    }

    /// What was read so far.
    public var bytes: Data {
        lock.lock()
        defer { lock.unlock() }
        return data
    }

    /// The number of bytes read so far.
    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return data.count
    }

    /// Waits (at most `timeout` seconds) until the pipe reached end of file; false on timeout.
    @discardableResult
    public func waitForEnd(timeout: Double) -> Bool {
        lock.lock()
        let already = finished
        lock.unlock()
        if already { return true }
        guard done.wait(timeout: .now() + timeout) == .success else { return false }
        done.signal()  // later waiters return at once too
        return true
    }
}
