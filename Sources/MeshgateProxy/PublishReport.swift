import MeshgateLoop

/// What one publish did.
public struct PublishReport: Sendable {
    /// The generation now current.
    public let generation: UInt64
    /// Where each route this publish added or changed listens, by route key (a full
    /// `publish` reports every route).
    public let listening: [String: SocketAddress]
    /// Routes left out because no listener could be opened for them (or given twice), with
    /// the reason. Such a route is kept waiting and tried again (`retryWaiting`).
    public let failed: [String: String]
    /// Routes that had been waiting for a port and now listen (also in `listening`).
    public var recovered: [String] = []
}
