/// What a peer asks for with a transport header: the byte after the version.
public enum TransportHeaderKind: UInt8, Sendable {
    /// Open a spliced stream to an exported service (`TransportHeader.connect`).
    case connect = 1
    /// Stream the gateway's exports for the peer's mirror (`TransportHeader.discover`).
    case discover = 2
    /// Answer at once; the round trip is the gateway latency (`TransportHeader.probe`).
    case probe = 3
    /// A warm-pool connection announces itself and waits; a `connect` header follows on the
    /// same stream when a client arrives (`TransportHeader.pooled`).
    case pooled = 4
}
