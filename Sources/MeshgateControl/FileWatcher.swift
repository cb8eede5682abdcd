import Foundation
import MeshgateNames

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Watches a set of files and calls back with the ones whose content changed.
///
/// It polls (every second by default) on a thread of its own. A file counts as changed when its
/// `stat` (device, inode, size, modification time; symlinks followed, so a Kubernetes secret
/// volume swapping its `..data` link is seen) differs and the hash of its content differs too:
/// rewriting the same bytes is no change. New content is reported once it has stayed the same
/// for one more interval, so a file caught half-written is not reported before it is whole. A
/// file that is briefly missing (deleted before being re-created, mid-rename) counts as
/// unchanged; its error is reported once until it is back. Callbacks run on the watcher's
/// thread, one at a time.
public final class FileWatcher: @unchecked Sendable {
    /// Receives the paths (as given to `init`) whose content changed since the last call.
    public typealias ChangeHandler = @Sendable (_ paths: [String]) -> Void
    /// Receives a path that cannot be read and why; once per episode.
    public typealias ErrorHandler = @Sendable (_ path: String, _ message: String) -> Void

    /// The watched paths, without duplicates.
    public let paths: [String]
    /// Time between two looks at the files.
    public let interval: Duration

    private let onChange: ChangeHandler
    private let onError: ErrorHandler
    private let control = Control()
    /// Touched only by `init` and then the polling thread.
    private var files: [WatchedFile]

    /// Takes a baseline of `paths` now (reporting the ones that cannot be read); call `start()`
    /// to begin watching.
    public init(
        paths: [String], interval: Duration = .seconds(1), onError: @escaping ErrorHandler = { _, _ in },
        onChange: @escaping ChangeHandler
    ) {
        var unique: [String] = []
        for path in paths where !unique.contains(path) { unique.append(path) }
        self.paths = unique
        self.interval = interval
        self.onChange = onChange
        self.onError = onError
        self.files = unique.map { path in WatchedFile(path: path) { onError(path, $0) } }
    }

    deinit {
        control.requestStop()
    }

    /// Starts the polling thread (once; later calls do nothing).
    public func start() {
        guard control.markStarted() else { return }
        let thread = Thread { [weak self, control, interval] in
            control.enterThread()
            // The watcher is held only while checking, never while sleeping, so one that nobody
            // references any more goes away and its thread ends.
            func pollOnce() -> Bool {
                guard let watcher = self else { return false }
                let changed = watcher.checkFiles()
                if !changed.isEmpty { watcher.onChange(changed) }
                return true
            }
            while pollOnce(), !control.sleep(interval) {}
            control.leaveThread()
        }
        thread.name = "meshgate-file-watcher"
        thread.start()
    }

    /// Stops polling. Called from another thread, it returns once no callback is running or will
    /// run; called from a callback, it returns at once and the thread ends after that callback.
    public func stop() {
        control.requestStop()
        control.waitForThreadEnd()
    }

    /// Looks at every file once; returns the changed paths (reporting errors, not changes).
    private func checkFiles() -> [String] {
        var changed: [String] = []
        for index in files.indices {
            let path = files[index].path
            if files[index].check(onError: { onError(path, $0) }) { changed.append(path) }
        }
        return changed
    }

    /// The state shared by the watcher and its thread; lives as long as either.
    private final class Control: @unchecked Sendable {
        private let condition = NSCondition()
        private var started = false
        private var stopping = false
        private var running = false
        private var thread: pthread_t?

        func markStarted() -> Bool {
            condition.lock()
            defer { condition.unlock() }
            guard !started, !stopping else { return false }
            started = true
            running = true
            return true
        }

        func enterThread() {
            condition.lock()
            thread = pthread_self()
            condition.unlock()
        }

        func leaveThread() {
            condition.lock()
            running = false
            thread = nil
            condition.broadcast()
            condition.unlock()
        }

        /// Sleeps for `interval` or until a stop is requested; true when one was.
        func sleep(_ interval: Duration) -> Bool {
            let deadline = Date(timeIntervalSinceNow: interval.seconds)
            condition.lock()
            defer { condition.unlock() }
            while !stopping, condition.wait(until: deadline) {}
            return stopping
        }

        func requestStop() {
            condition.lock()
            stopping = true
            condition.broadcast()
            condition.unlock()
        }

        /// Waits until the polling thread has ended, unless called on that thread.
        func waitForThreadEnd() {
            condition.lock()
            defer { condition.unlock() }
            if let thread, pthread_equal(thread, pthread_self()) != 0 { return }
            while running { condition.wait() }
        }
    }
}
