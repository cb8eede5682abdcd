import Atomics
import HashTreeCollections
import MeshgateTLS

/// The TLS contexts a gateway's loops use for new handshakes. Replaced as a whole when the
/// identity files rotate; established connections keep theirs.
public struct GatewayCredentials: Sendable {
    /// Terminates inbound mTLS (and outbound listeners that require client TLS).
    public let server: TLSContext
    /// Originates mTLS to remote gateways.
    public let client: TLSContext

    public init(server: TLSContext, client: TLSContext) {
        self.server = server
        self.client = client
    }
}

/// One route as loops see it: the route, and the listener it is served on.
public struct PublishedRoute: Sendable {
    public let route: GatewayRoute
    public let listener: RouteListener
}

/// What changed from the previous generation, so that a loop one generation behind applies a
/// change in time proportional to the change, not to the table.
public struct RouteTableDelta: Sendable {
    /// Routes added, or changed in place (same listener, new route value).
    public let upserted: [PublishedRoute]
    /// Keys of routes removed (or moved to a new listener).
    public let removedKeys: [String]
    /// Listeners no longer in the table. Identifiers only, so the delta does not keep a port
    /// open: a loop one generation behind holds every one of them in its acceptors, so each
    /// still names a live object when the loop looks it up.
    public let removedListeners: [ObjectIdentifier]
    /// The services or the credentials changed.
    public let servicesChanged: Bool
}

/// Everything a gateway's loops need, as one immutable value with a generation number:
/// outbound routes with their listeners, the exported services, the TLS credentials, and
/// what changed since the previous generation. Maps are persistent (hash tries), so a new
/// snapshot shares all unchanged entries with the previous one. A publisher swaps the current
/// one atomically; loops read it when woken.
public final class GatewaySnapshot: AtomicReference, Sendable {
    /// Grows by one with every publish.
    public let generation: UInt64
    /// Outbound routes by key.
    public let routes: TreeDictionary<String, PublishedRoute>
    /// This cluster's services by `namespace/name`.
    public let services: TreeDictionary<String, ExportedService>
    /// TLS contexts for new handshakes.
    public let credentials: GatewayCredentials
    /// The change from generation - 1 (nil for the first snapshot).
    public let delta: RouteTableDelta?

    init(
        generation: UInt64, routes: TreeDictionary<String, PublishedRoute>, services: TreeDictionary<String, ExportedService>,
        credentials: GatewayCredentials, delta: RouteTableDelta?
    ) {
        self.generation = generation
        self.routes = routes
        self.services = services
        self.credentials = credentials
        self.delta = delta
    }
}
