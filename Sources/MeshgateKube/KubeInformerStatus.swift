import Foundation

/// What a ``KubeInformer`` has done: for `/status` and metrics.
public struct KubeInformerStatus: Hashable, Sendable {
    /// The first list succeeded (the cache is usable).
    public var synced = false
    /// The last successful list, event or bookmark.
    public var lastSync: Date?
    /// The last error (cleared by nothing: see `lastErrorAt` against `lastSync`).
    public var lastError: String?
    /// When `lastError` happened.
    public var lastErrorAt: Date?
    /// Lists after the first (after 410 Gone or a failed list).
    public var relists = 0
    /// Watches started again after one ended (timeout, EOF, error).
    public var watchRestarts = 0
    /// Re-lists caused by 410 Gone.
    public var goneRelists = 0
    /// The resourceVersion the next watch starts from.
    public var resourceVersion = ""

    /// An empty status.
    public init() {}
}
