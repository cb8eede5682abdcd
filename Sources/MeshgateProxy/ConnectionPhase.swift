/// One side of a proxied connection.
enum ConnectionSide: UInt8, Equatable {
    /// The client, whose connection the loop accepted.
    case downstream
    /// The upstream the loop connected to (an endpoint, a remote gateway, a configured upstream).
    case upstream

    /// The side the loop's `upstreamSide` flag names.
    @inline(__always)
    init(upstreamSide: Bool) { self = upstreamSide ? .upstream : .downstream }
}

/// One direction of a proxied connection.
enum FlowDirection: UInt8, Equatable {
    case toUpstream
    case toDownstream
}

/// Where a connection is in its life; each phase carries what only it needs
/// (docs/development.md, "A connection's life in the loop").
///
/// ```
/// free → accepted → [handshaking(downstream)] → [readingHeader] → connecting ⇄ waitingForDescriptor
///      → [handshaking(upstream)] → open → halfClosed → free
/// ```
/// Which optional steps a connection takes is its `ConnectionPlan`.
enum ConnectionPhase: Equatable {
    /// The slot is unused.
    case free
    /// A client holds the slot; nothing has begun yet (the slab's `allocate` sets it).
    case accepted
    /// A TCP connect to an upstream is under way since `startedAt` (monotonic ns, for the
    /// connect histogram); the backend's connect timeout bounds it.
    case connecting(startedAt: Int64)
    /// No descriptor was free for the upstream socket at `since` (loop clock): the client
    /// waits, at most the connect timeout.
    case waitingForDescriptor(since: Int64)
    /// A side's TLS handshake began at `startedAt` (monotonic ns) and is refused at `deadline`
    /// (loop clock).
    case handshaking(ConnectionSide, startedAt: Int64, deadline: Int64)
    /// Gateway inbound: the client's transport header is read until `deadline` (loop clock).
    case readingHeader(deadline: Int64)
    /// Both sides connected: bytes flow both ways.
    case open
    /// One direction passed its end of stream on; the other still flows.
    case halfClosed(finished: FlowDirection)

    /// Bytes flow (open or half-closed).
    var isOpen: Bool {
        switch self {
        case .open, .halfClosed: return true
        default: return false
        }
    }

    /// The side whose handshake runs, if one does.
    var handshakingSide: ConnectionSide? {
        if case .handshaking(let side, _, _) = self { return side }
        return nil
    }
}

/// The optional steps a connection takes, fixed when it is admitted.
struct ConnectionPlan: Equatable {
    /// The client side proves itself first (TLS terminating proxy, gateway inbound, outbound
    /// routes that require client TLS).
    var clientTLS: Bool
    /// Gateway inbound: a transport header follows the client's handshake.
    var readsHeader: Bool
    /// The upstream side runs a TLS handshake once connected (TLS originating proxy, outbound
    /// routes to remote gateways).
    var upstreamTLS: Bool
}
