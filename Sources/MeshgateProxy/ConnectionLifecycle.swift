/// One side of a proxied connection.
enum ConnectionSide: UInt8, Equatable {
    /// The client, whose connection the loop accepted.
    case downstream
    /// The upstream the loop connected to (an endpoint, a remote gateway, a configured upstream).
    case upstream
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

/// What happens to a connection (events in).
enum ConnectionEvent: Equatable {
    /// The client was admitted into a slot.
    case admitted
    /// A side's handshake finished: the peer proved its identity.
    case handshakeDone(ConnectionSide)
    /// Gateway inbound: the header named a service with endpoints to connect to.
    case headerAccepted
    /// A connect was submitted (its socket made).
    case connectStarted
    /// No descriptor for the upstream socket.
    case outOfDescriptors
    /// The upstream TCP connect succeeded.
    case connected
    /// The upstream TCP connect failed; `moreUpstreams` when another may be tried.
    case connectFailed(moreUpstreams: Bool)
    /// A direction passed its end of stream on to its destination.
    case finished(FlowDirection)
    /// The sweep's look (once a second): `lastActivity` is the connection's last moved byte.
    case tick(lastActivity: Int64)
}

/// Why a connection is ended by the lifecycle itself (the loop counts and logs each).
enum ConnectionEnd: Equatable {
    /// Both directions finished cleanly.
    case done
    /// Every upstream failed.
    case upstreamsExhausted
    /// No descriptor came free within the connect timeout.
    case descriptorWaitTimeout
    /// A handshake passed its deadline.
    case handshakeTimeout(ConnectionSide)
    /// Gateway inbound: no whole header in time.
    case headerTimeout
    /// No byte moved for the idle timeout.
    case idle
}

/// What the loop must do (actions out). The lifecycle has already moved to the phase the
/// action begins.
enum ConnectionAction: Equatable {
    /// Nothing now.
    case none
    /// Start (or go on with) this side's TLS handshake.
    case handshake(ConnectionSide)
    /// Read the transport header.
    case readHeader
    /// Connect to the next upstream.
    case connect
    /// Retry the connect later, when a descriptor frees up; `first` when the connection was
    /// not parked yet.
    case park(first: Bool)
    /// Start moving bytes.
    case open
    /// End the connection.
    case end(ConnectionEnd)
}

/// The timeouts of one loop, in nanoseconds of the loop clock.
struct ConnectionLimits: Equatable {
    var handshakeTimeout: Int64
    var headerTimeout: Int64
    var connectTimeout: Int64
    var idleTimeout: Int64
}

/// The connection state machine: pure, no sockets. `ProxyLoop` feeds it events and performs
/// the actions it returns (`ProxyLoop+Lifecycle.swift`).
enum ConnectionLifecycle {
    /// Moves `phase` on `event` at `now` (loop clock) / `clock` (monotonic ns, for the phase
    /// histograms) and says what the loop does next. An event that does not apply to the phase
    /// is `.none` and changes nothing.
    static func handle(
        _ event: ConnectionEvent, phase: inout ConnectionPhase, plan: ConnectionPlan, limits: ConnectionLimits, now: Int64,
        clock: Int64
    ) -> ConnectionAction {
        func handshake(_ side: ConnectionSide) -> ConnectionAction {
            phase = .handshaking(side, startedAt: clock, deadline: now &+ limits.handshakeTimeout)
            return .handshake(side)
        }
        func connect() -> ConnectionAction {
            phase = .connecting(startedAt: clock)
            return .connect
        }
        switch (event, phase) {
        case (.admitted, .accepted):
            return plan.clientTLS ? handshake(.downstream) : connect()
        case (.handshakeDone(.downstream), .handshaking(.downstream, _, _)):
            if plan.readsHeader {
                phase = .readingHeader(deadline: now &+ limits.headerTimeout)
                return .readHeader
            }
            return connect()
        case (.headerAccepted, .readingHeader):
            return connect()
        case (.connectStarted, .connecting), (.connectStarted, .waitingForDescriptor):
            phase = .connecting(startedAt: clock)
            return .none
        case (.outOfDescriptors, .connecting):
            phase = .waitingForDescriptor(since: now)
            return .park(first: true)
        case (.outOfDescriptors, .waitingForDescriptor):
            return .park(first: false)  // still waiting, since the first time
        case (.connected, .connecting):
            if plan.upstreamTLS { return handshake(.upstream) }
            phase = .open
            return .open
        case (.connectFailed(let more), .connecting):
            return more ? connect() : .end(.upstreamsExhausted)
        case (.handshakeDone(.upstream), .handshaking(.upstream, _, _)):
            phase = .open
            return .open
        case (.finished(let direction), .open):
            phase = .halfClosed(finished: direction)
            return .none
        case (.finished(let direction), .halfClosed(let first)) where direction != first:
            return .end(.done)
        case (.tick(let lastActivity), _):
            return expiry(phase, lastActivity: lastActivity, limits: limits, now: now).map { .end($0) } ?? .none
        default:
            return .none
        }
    }

    /// The timeout that ends a connection in `phase` at `now`, if one does.
    static func expiry(_ phase: ConnectionPhase, lastActivity: Int64, limits: ConnectionLimits, now: Int64) -> ConnectionEnd? {
        switch phase {
        case .open, .halfClosed:
            return lastActivity < now &- limits.idleTimeout ? .idle : nil
        case .handshaking(let side, _, let deadline):
            return deadline < now ? .handshakeTimeout(side) : nil
        case .readingHeader(let deadline):
            return deadline < now ? .headerTimeout : nil
        case .waitingForDescriptor(let since):
            return since < now &- limits.connectTimeout ? .descriptorWaitTimeout : nil
        case .free, .accepted, .connecting:
            return nil  // the backend's connect timeout bounds a connect
        }
    }
}
