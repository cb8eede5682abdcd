import Foundation

/// `registry` in `/status`: where the gateway's own services come from, and, for the
/// Kubernetes source, how fresh its view of the API server is (docs/operations.md).
public struct RegistrySourceStatus: Codable, Equatable, Sendable {
    /// `file` (registry.yaml) or `kubernetes` (exported Services).
    public var source: String
    /// The API server's URL (kubernetes only).
    public var server: String?
    /// Every watch has listed once: the registry is the API server's (a file: loaded).
    public var synced: Bool
    /// The last successful list, watch event or bookmark of any watch (the oldest of the
    /// watches' latest: the registry is at least this fresh).
    public var lastSync: Date?
    /// Seconds since `lastSync`, computed when the status is made: it grows while the API
    /// server is unreachable.
    public var syncAgeSeconds: Double?
    /// The last error of any watch, and when it happened.
    public var lastError: String?
    public var lastErrorAt: Date?
    /// Lists after the first (410 Gone, or a failed watch), summed over the watches.
    public var relists: Int
    /// Watches opened again after the first (timeouts, EOF, transport errors), summed.
    public var watchRestarts: Int
    /// Services in the registry now (the exported ones and the refused ones are counted in
    /// `/status` `services`).
    public var services: Int

    public init(
        source: String, server: String? = nil, synced: Bool, lastSync: Date? = nil, syncAgeSeconds: Double? = nil,
        lastError: String? = nil, lastErrorAt: Date? = nil, relists: Int = 0, watchRestarts: Int = 0, services: Int
    ) {
        self.source = source
        self.server = server
        self.synced = synced
        self.lastSync = lastSync
        self.syncAgeSeconds = syncAgeSeconds
        self.lastError = lastError
        self.lastErrorAt = lastErrorAt
        self.relists = relists
        self.watchRestarts = watchRestarts
        self.services = services
    }

    /// The same status with `syncAgeSeconds` computed at `now`.
    public func aged(now: Date) -> RegistrySourceStatus {
        var copy = self
        copy.syncAgeSeconds = lastSync.map { max(0, now.timeIntervalSince($0)) }
        return copy
    }
}
