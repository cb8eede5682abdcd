/// The timeouts of one loop, in nanoseconds of the loop clock.
struct ConnectionLimits: Equatable {
    var handshakeTimeout: Int64
    var headerTimeout: Int64
    var connectTimeout: Int64
    var idleTimeout: Int64
    /// Gateway inbound: how long a peer's warm-pool connection waits for its `connect` header.
    var pooledIdleTimeout: Int64 = 0
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
        case (_, .free):
            return .none  // nothing happens to an unused slot
        case (.admitted, .accepted):
            return plan.clientTLS ? handshake(.downstream) : connect()
        case (.routeDown, .accepted):
            return .end(.linkDown)
        case (.handshakeDone(.downstream), .handshaking(.downstream, _, _)):
            if plan.readsHeader {
                phase = .readingHeader(deadline: now &+ limits.headerTimeout, pooled: false)
                return .readHeader
            }
            return connect()
        case (.headerAccepted, .readingHeader):
            return connect()
        case (.pooledHeader, .readingHeader(_, false)):
            phase = .readingHeader(deadline: now &+ limits.pooledIdleTimeout, pooled: true)
            return .readHeader
        case (.pooledConnect, .readingHeader(let deadline, true)):
            phase = .readingHeader(deadline: deadline, pooled: false)
            return .none  // the loop routes its header next
        case (.pooledAdopted, .connecting):
            phase = .open
            return .open
        case (.poolRetire(let why), _) where plan.pooled:
            return .end(.poolRetired(why))
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
            if plan.pooled {
                phase = .pooled(since: now)
                return .pool
            }
            phase = .open
            return .open
        case (.finished(let direction), .open):
            phase = .halfClosed(finished: direction)
            return .none
        case (.finished(let direction), .halfClosed(let first)) where direction != first:
            return .end(.done)
        case (.reset(let side), _):
            return .end(.reset(side))  // wherever the connection is
        case (.handOverFailed(let side, let failure), .open), (.handOverFailed(let side, let failure), .halfClosed):
            return failure == .kernelRXRefused ? .end(.kernelTLSBroken(side)) : .keepOpenSSL(side)
        case (.tick(let lastActivity), _):
            return expiry(phase, lastActivity: lastActivity, limits: limits, now: now).map { .end($0) } ?? .none
        case (.drainRequested, _) where plan.pooled:
            return .end(.poolRetired(.drained))  // no client waits on it
        case (.drainRequested, .readingHeader(_, true)):
            return .end(.heldPooledReleased)  // nor on a peer's pooled connection held here
        case (.drainRequested, _):
            return .none  // every connection runs to its own end; the loop stops when none is left
        case (.stopRequested, _) where plan.pooled:
            return .end(.poolRetired(.drained))
        case (.stopRequested, _):
            return .end(.stopped)
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
        case .readingHeader(let deadline, _):
            return deadline < now ? .headerTimeout : nil
        case .waitingForDescriptor(let since):
            return since < now &- limits.connectTimeout ? .descriptorWaitTimeout : nil
        case .free, .accepted, .connecting:
            return nil  // the backend's connect timeout bounds a connect
        case .pooled:
            return nil  // its pool retires it at its maxAge
        }
    }
}
