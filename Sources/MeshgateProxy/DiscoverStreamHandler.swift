import MeshgateNames
import MeshgateTLS
import MeshgateWire

/// Serves the `discover` streams a gateway's loops accept (docs/wire.md, "The discover stream").
///
/// A loop reads a connection's TLS handshake and its `discover` header, then hands the stream
/// over and forgets it: the handler owns the socket and the TLS state from then on, and serves
/// (or refuses) the stream off the loop. MeshgateDiscovery's `DiscoveryServer` is the handler a
/// gateway runs.
public protocol DiscoverStreamHandler: AnyObject, Sendable {
    /// Takes over the connected, non-blocking socket `fd` and `tls` (handshake done, header
    /// read) of a peer proving `peer` that asked as `cluster` with `options`. Called on a loop
    /// thread: it must not block. The handler closes `fd`, whether it serves or refuses.
    func takeOver(fd: Int32, tls: TLSConnection, peer: WorkloadIdentity?, cluster: String, options: DiscoverOptions)
}
