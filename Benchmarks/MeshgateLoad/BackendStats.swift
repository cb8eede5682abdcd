/// Counters of a `BackendServer`, summed over its threads.
public struct BackendStats: Sendable, Equatable {
    /// Connections accepted since start.
    public var accepted: Int = 0
    /// Bytes received from clients.
    public var bytesIn: Int64 = 0
    /// Bytes sent to clients.
    public var bytesOut: Int64 = 0
    /// Connections open now.
    public var active: Int = 0
    /// Connections closed with a reset, by `resetAfter` or because the peer reset.
    public var resets: Int = 0
    /// For `drainThenReply`: SHA-256 (hex) of everything the most recently drained connection sent, set at its EOF.
    public var lastDrainSHA256: String?
    /// For `drainThenReply`: how many bytes that connection sent.
    public var lastDrainBytes: Int64?

    public init() {}
}
