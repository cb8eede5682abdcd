/// What happens to a connection (events in).
enum ConnectionEvent: Equatable {
    /// The client was admitted into a slot.
    case admitted
    /// Outbound: the route whose listener took the client leads to a cluster that is down.
    case routeDown
    /// A side's handshake finished: the peer proved its identity.
    case handshakeDone(ConnectionSide)
    /// Gateway inbound: the header named a service with endpoints to connect to.
    case headerAccepted
    /// Gateway inbound: the peer announced a warm-pool connection (a `pooled` header); it may
    /// wait for its `connect` header up to the pooled idle limit.
    case pooledHeader
    /// Gateway inbound: a peer's warm-pool connection sent its `connect` header; from now on it
    /// is an inbound connection like any other.
    case pooledConnect
    /// Outbound: the client's connection took a warm-pool connection's upstream side (already
    /// connected and handshaked) instead of connecting.
    case pooledAdopted
    /// Warm pool: the loop retires a pooled connection (or one still being opened).
    case poolRetire(WarmPoolRetirement)
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
    /// A side failed: reset or broken pipe under a data call, a pending socket error, a stream
    /// the peer ended without close_notify, a protocol error the peer cannot be answered for.
    case reset(ConnectionSide)
    /// A TLS side could not move from OpenSSL to the record layer or the kernel.
    case handOverFailed(ConnectionSide, HandOverFailure)
    /// The sweep's look (once a second): `lastActivity` is the connection's last moved byte.
    case tick(lastActivity: Int64)
    /// The loop drains: it takes no new clients and stops once its connections are gone.
    case drainRequested
    /// The loop stops: what is still live is closed now.
    case stopRequested
}

/// Why a TLS side could not hand over from OpenSSL.
enum HandOverFailure: Equatable {
    /// The last handshake flight was still going out when writing was to hand over.
    case flightPending
    /// The keys or the record layer could not be taken from OpenSSL.
    case noKeys
    /// Reading was ready to hand over but writing had stayed in OpenSSL.
    case writingStayed
    /// The kernel refused the RX keys after it took the TX keys: the side can go neither on
    /// nor back.
    case kernelRXRefused
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
    /// A warm-pool connection retired before any client used it.
    case poolRetired(WarmPoolRetirement)
    /// Gateway inbound: a peer's pooled connection, still waiting for its `connect`, released as
    /// this gateway drains (so the peer sends no new client here).
    case heldPooledReleased
    /// Outbound: refused at once, the route's cluster is down.
    case linkDown
    /// A side failed: both sides are reset, so a truncated stream never passes as complete.
    case reset(ConnectionSide)
    /// Kernel TLS half installed on a side (`HandOverFailure.kernelRXRefused`): both sides reset.
    case kernelTLSBroken(ConnectionSide)
    /// The loop stopped with the connection still live: both sides reset.
    case stopped
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
    /// Warm pool: the connection is handshaked; put it in its link's pool.
    case pool
    /// Connect to the next upstream.
    case connect
    /// Retry the connect later, when a descriptor frees up; `first` when the connection was
    /// not parked yet.
    case park(first: Bool)
    /// Start moving bytes.
    case open
    /// This side's TLS stays in OpenSSL for the rest of the connection (both directions; its
    /// reading no longer tries to hand over).
    case keepOpenSSL(ConnectionSide)
    /// End the connection.
    case end(ConnectionEnd)
}

/// Why a warm-pool connection closes without having carried a client.
enum WarmPoolRetirement: Equatable {
    /// No client took it within the pool's `maxAge`.
    case expired
    /// The remote gateway closed it (or sent what a pooled stream must not carry).
    case closedByPeer
    /// The path to the remote gateway went silent: keepalive probes went unanswered
    /// (`WarmPoolPolicy.silentPathTimeout`).
    case lost
    /// Its link went down or away, the identity was reloaded, or the gateway drains or stops.
    case drained
}
