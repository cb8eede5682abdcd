import Foundation

/// A value read from one or more files, read again whenever they change, keeping the last good one.
///
/// The first read happens in `init` and must succeed (it throws otherwise). After `start()`, a
/// `FileWatcher` looks at the files; on a change (new content that stayed the same for one
/// interval) the value is read again: when that works it
/// replaces `current` and `onReload` gets it; when it fails the old value stays and `onError`
/// gets the errors. A file that cannot be read is reported through `onError` too (once), and
/// the old value stays. Used for the registry and the identity files.
public final class ReloadingFile<Value: Sendable>: @unchecked Sendable {
    /// Reads the value from the files.
    public typealias Loader = @Sendable () throws(ConfigErrors) -> Value

    /// The watched files.
    public let paths: [String]

    private let loader: Loader
    private let onReload: @Sendable (Value) -> Void
    private let onError: @Sendable (ConfigErrors) -> Void
    private let lock = NSLock()
    /// Held through a whole reload, so that two (a change and a SIGHUP) never interleave.
    private let reloadLock = NSLock()
    private var value: Value
    private var errors: ConfigErrors?
    private var loads = 1
    private var watcher: FileWatcher?
    private let interval: Duration

    /// Reads the value with `load` now; `paths` are the files `load` reads.
    public init(
        paths: [String], interval: Duration = .seconds(1), load: @escaping Loader,
        onReload: @escaping @Sendable (Value) -> Void = { _ in }, onError: @escaping @Sendable (ConfigErrors) -> Void = { _ in }
    ) throws(ConfigErrors) {
        self.paths = paths
        self.interval = interval
        self.loader = load
        self.onReload = onReload
        self.onError = onError
        self.value = try load()
    }

    /// Reads one file with `parse` (given the path), e.g. `Registry.load(path:)`.
    public convenience init(
        path: String, interval: Duration = .seconds(1), parse: @escaping @Sendable (String) throws(ConfigErrors) -> Value,
        onReload: @escaping @Sendable (Value) -> Void = { _ in }, onError: @escaping @Sendable (ConfigErrors) -> Void = { _ in }
    ) throws(ConfigErrors) {
        try self.init(
            paths: [path], interval: interval, load: { () throws(ConfigErrors) -> Value in try parse(path) },
            onReload: onReload, onError: onError)
    }

    deinit {
        watcher?.stop()
    }

    /// The last value read successfully.
    public var current: Value {
        lock.withLock { value }
    }

    /// The errors of the last read when it failed; nil when it worked.
    public var lastErrors: ConfigErrors? {
        lock.withLock { errors }
    }

    /// How many reads have worked, the first in `init` included.
    public var generation: Int {
        lock.withLock { loads }
    }

    /// Starts watching the files (once).
    public func start() {
        let watcher = lock.withLock { () -> FileWatcher? in
            guard self.watcher == nil else { return nil }
            let onError = self.onError
            let created = FileWatcher(
                paths: paths, interval: interval,
                onError: { path, message in
                    onError(ConfigErrors([ConfigError(file: path, line: nil, field: "", message: message)]))
                },
                onChange: { [weak self] _ in self?.reload() })
            self.watcher = created
            return created
        }
        watcher?.start()
    }

    /// Stops watching; the current value stays.
    public func stop() {
        lock.withLock { watcher }?.stop()
    }

    /// Reads the value again now (as on a change, or on SIGHUP); true when it worked.
    @discardableResult
    public func reload() -> Bool {
        reloadLock.lock()
        defer { reloadLock.unlock() }
        do {
            let fresh = try loader()
            lock.withLock {
                value = fresh
                errors = nil
                loads += 1
            }
            onReload(fresh)
            return true
        } catch {
            lock.withLock { errors = error }
            onError(error)
            return false
        }
    }
}
