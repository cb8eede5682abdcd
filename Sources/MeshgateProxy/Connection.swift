import MeshgateLoop
import MeshgateTLS

/// One direction of a proxied connection: bytes read from `source`, written to `destination`.
/// Holds a pipe (splice path) or a buffer (copy path) only while bytes are in flight.
struct Flow {
    /// Copy-path buffer while held.
    var buffer: UnsafeMutableRawPointer? = nil
    /// Offset of the first unsent byte in `buffer`.
    var bufferOffset: Int32 = 0
    /// Bytes read from the source and not yet written to the destination.
    var pending: Int32 = 0
    /// User-space TLS source: received ciphertext not yet opened, `buffer[cipherStart..<cipherEnd]`
    /// (at most one partial record while waiting).
    var cipherStart: Int32 = 0
    var cipherEnd: Int32 = 0
    /// Splice-path pipe while held (stored after the 4-byte fields so the flags below fill
    /// its tail: the flow stays 40 bytes).
    var pipe: Pipe? = nil
    /// The source may have bytes (or EOF) to read: set by readiness, cleared by EAGAIN.
    var sourceReadable = false
    /// The destination can take bytes: cleared by EAGAIN, set by readiness.
    var destinationWritable = true
    /// The source sent FIN.
    var sourceEOF = false
    /// FIN was passed on to the destination.
    var finished = false
    /// Queued on the loop's run list (yielded for fairness).
    var queued = false
    /// This direction uses the copy path (splice not possible, or a side runs TLS in user space).
    var copyPath = false
    /// TLS destination: close_notify went out (kernel TLS) or is queued (user-space records).
    var closeNotifySent = false
}

/// Which listener took a connection, and so what happens before bytes flow.
enum ConnectionRole: UInt8 {
    /// `meshgate proxy`: the configured upstreams, TLS as configured.
    case proxy
    /// Gateway inbound port: mTLS, transport header, authorization, a local endpoint.
    case inbound
    /// Gateway outbound listener: a route's remote gateway over mTLS, header first.
    case outbound
    /// Gateway warm pool: a connection to a link's remote gateway, opened with no client; a
    /// client's `outbound` connection adopts its upstream side.
    case pooled
}

/// A proxied connection in the loop's slab: client (downstream) and upstream sockets and the
/// two directions between them. Fields are ordered for size (the one-byte fields fill the
/// tails of the optional descriptors; `ConnectionLayoutTests` holds the stride).
struct Connection {
    /// Bumped when the slot is freed: a token of an earlier connection no longer resolves.
    var generation: UInt32 = 0
    /// Next free slot (free list), -1 at the end.
    var nextFree: Int32 = -1
    /// Where the connection is in its life (`ConnectionLifecycle` moves it).
    var phase: ConnectionPhase = .free
    /// Its optional steps, fixed at admission.
    var plan = ConnectionPlan(clientTLS: false, readsHeader: false, upstreamTLS: false)
    /// The client's socket (set at admission; nil only once a gateway hands it off).
    var downstream: Descriptor? = nil
    /// Sides (1 client, 2 upstream) whose reading cannot hand over from OpenSSL and stays there.
    var handOverFailed: UInt8 = 0
    /// Which listener took it.
    var role: ConnectionRole = .proxy
    /// The upstream socket, once one is made.
    var upstream: Descriptor? = nil
    /// Index of the upstream being tried or used.
    var upstreamIndex: Int32 = 0
    /// Connect attempts made so far.
    var attempts: Int32 = 0
    /// Bytes of the running handshake received so far (the first one tells TLS from garbage).
    var handshakeBytes: Int32 = 0
    /// Coarse time of the last byte moved (loop clock, ns).
    var lastActivity: Int64 = 0
    /// Client → upstream.
    var toUpstream = Flow()
    /// Upstream → client.
    var toDownstream = Flow()
    /// How the client side writes and reads (`SideTransport`).
    var downstreamTransport = SideTransport()
    /// How the upstream side writes and reads.
    var upstreamTransport = SideTransport()
    /// Readiness events handled for either socket (wrapping): the kTLS poke skips a connection
    /// that had one between its look and its pump.
    var readinessEvents: UInt32 = 0
    /// Gateway: why the gateway refused it, if it did (decides the series' result at close).
    var refusal: GatewayRefusal? = nil
    /// Where upstream attempts go: a route's gateways or a service's endpoints (the loop's
    /// configured upstreams when nil). Held so its addresses outlive the connect.
    var upstreams: UpstreamBalancer? = nil
    /// Outbound: the route this connection started with (warm pool: the route its pool was
    /// made for).
    var route: GatewayRoute? = nil
    /// Outbound with client TLS: the local client's verified identity, sent in the header.
    var clientIdentity: String? = nil
    /// Gateway: the traffic series this connection counts in, once known.
    var traffic: TrafficSeries? = nil
    /// Payload bytes moved each way, added to the series at close.
    var bytesUp: UInt64 = 0
    var bytesDown: UInt64 = 0
}

extension Connection {
    /// The client side's OpenSSL connection while it uses one (the handshake, and until both
    /// directions handed over).
    var downstreamTLS: TLSConnection? { downstreamTransport.openSSL }
    /// The upstream side's OpenSSL connection while it uses one.
    var upstreamTLS: TLSConnection? { upstreamTransport.openSSL }

    /// One side's socket.
    @inline(__always)
    func socket(upstreamSide: Bool) -> Descriptor? { upstreamSide ? upstream : downstream }

    /// One side's transport.
    @inline(__always)
    func transport(upstreamSide: Bool) -> SideTransport { upstreamSide ? upstreamTransport : downstreamTransport }

    /// Sets one side's transport.
    @inline(__always)
    mutating func setTransport(_ t: SideTransport, upstreamSide: Bool) {
        if upstreamSide { upstreamTransport = t } else { downstreamTransport = t }
    }
}
