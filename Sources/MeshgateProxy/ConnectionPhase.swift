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
/// A warm-pool connection (role `pooled`, no client) goes `accepted → connecting →
/// handshaking(upstream) → pooled → free`: a client's connection adopts its upstream side and
/// skips from `connecting` to `open`.
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
    /// Gateway inbound: the client's transport header is read until `deadline` (loop clock);
    /// `pooled` once the peer announced a warm-pool connection (its deadline is then the pooled
    /// idle limit, and the next header must be a `connect`).
    case readingHeader(deadline: Int64, pooled: Bool)
    /// Warm pool, originating side: handshaked with the remote gateway since `since` (loop
    /// clock), idle until a client adopts its upstream side or the pool retires it.
    case pooled(since: Int64)
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

/// The optional steps a connection takes, fixed when it is admitted. One byte of flags in the
/// slot (`ConnectionLayoutTests` holds the slot's size).
struct ConnectionPlan: Equatable {
    private var bits: UInt8

    init(clientTLS: Bool, readsHeader: Bool, upstreamTLS: Bool, pooled: Bool = false) {
        bits = (clientTLS ? 1 : 0) | (readsHeader ? 2 : 0) | (upstreamTLS ? 4 : 0) | (pooled ? 8 : 0)
    }

    /// The client side proves itself first (TLS terminating proxy, gateway inbound, outbound
    /// routes that require client TLS).
    var clientTLS: Bool { bits & 1 != 0 }
    /// Gateway inbound: a transport header follows the client's handshake.
    var readsHeader: Bool { bits & 2 != 0 }
    /// The upstream side runs a TLS handshake once connected (TLS originating proxy, outbound
    /// routes to remote gateways).
    var upstreamTLS: Bool { bits & 4 != 0 }
    /// A warm-pool connection: no client; after its handshake it waits in the pool.
    var pooled: Bool { bits & 8 != 0 }
}
