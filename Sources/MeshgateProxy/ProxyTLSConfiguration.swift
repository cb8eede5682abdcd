import MeshgateNames
import MeshgateTLS

/// How a proxy speaks TLS on each side. Both contexts nil: a plain L4 proxy.
public struct ProxyTLSConfiguration: Sendable {
    /// Server context: terminate mTLS on the listener (`--listen-tls`).
    public var downstream: TLSContext?
    /// Client context: originate mTLS to the upstreams (`--upstream-tls`).
    public var upstream: TLSContext?
    /// The identity every upstream must prove; required with `upstream`.
    public var expectedUpstreamIdentity: WorkloadIdentity?
    /// A handshake (either side) not finished within this long is refused.
    public var handshakeTimeout: Duration
    /// Switch sockets to kernel TLS after the handshake when the kernel has it.
    public var kernelTLS: Bool

    /// A configuration; the defaults make a plain proxy.
    public init(
        downstream: TLSContext? = nil, upstream: TLSContext? = nil, expectedUpstreamIdentity: WorkloadIdentity? = nil,
        handshakeTimeout: Duration = .seconds(10), kernelTLS: Bool = true
    ) {
        self.downstream = downstream
        self.upstream = upstream
        self.expectedUpstreamIdentity = expectedUpstreamIdentity
        self.handshakeTimeout = handshakeTimeout
        self.kernelTLS = kernelTLS
    }
}
