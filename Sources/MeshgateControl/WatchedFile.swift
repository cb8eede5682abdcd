/// What a `FileWatcher` knows about one file, and how it decides that the file changed.
///
/// New content is reported only once it has stayed the same for two looks in a row, so that a
/// file caught mid-write (truncated, half written) is not reported before it is whole.
struct WatchedFile {
    let path: String
    /// The stat and content hash last reported (or of the baseline); nil while never read.
    private var stat: FileStat?
    private var hash: UInt64?
    /// New content seen once, waiting to be seen unchanged once more.
    private var pending: (stat: FileStat, hash: UInt64)?
    /// True while the file cannot be read; its error has been reported once.
    private(set) var failing = false
    private var baselineTaken = false

    /// Takes the baseline: the file as it is now. A file missing now has no content yet, so
    /// its appearance later counts as a change.
    init(path: String, onError: (String) -> Void) {
        self.path = path
        _ = check(onError: onError)
        baselineTaken = true
    }

    /// Looks at the file again. True when it holds new content, unchanged since the previous
    /// look. A file that is missing or unreadable counts as unchanged, and its error is reported
    /// once per episode through `onError`.
    mutating func check(onError: (String) -> Void) -> Bool {
        guard let current = read(FileStat.of(path), onError) else { return false }
        // Same stat, nothing pending, not modified within the timestamp granularity: same content.
        if current == stat, pending == nil, !failing, !current.isRecent() { return false }
        guard let newHash = read(ContentHash.of(path), onError) else { return false }
        failing = false
        if !baselineTaken || newHash == hash {
            (stat, hash, pending) = (current, newHash, nil)
            return false
        }
        if let pending, pending.stat == current, pending.hash == newHash {
            (stat, hash, self.pending) = (current, newHash, nil)
            return true
        }
        pending = (current, newHash)
        return false
    }

    /// The value of a look at the file; on a failure nil, with what was pending dropped and the
    /// error reported (once per episode).
    private mutating func read<Value>(_ look: Result<Value, InvalidValue>, _ onError: (String) -> Void) -> Value? {
        switch look {
        case .success(let value):
            return value
        case .failure(let error):
            pending = nil
            fail(error.message, onError)
            return nil
        }
    }

    private mutating func fail(_ message: String, _ onError: (String) -> Void) {
        guard !failing else { return }
        failing = true
        onError(message)
    }
}
