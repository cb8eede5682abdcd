import Atomics
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

/// Everything a gateway's loops need, as one immutable value with a generation number:
/// outbound routes with their listeners, the exported services, the TLS credentials.
/// A publisher swaps the current one atomically; loops read it when woken.
public final class GatewaySnapshot: AtomicReference, Sendable {
    /// Grows by one with every publish.
    public let generation: UInt64
    /// Outbound routes by key.
    public let routes: [String: PublishedRoute]
    /// This cluster's services by `namespace/name`.
    public let services: [String: ExportedService]
    /// TLS contexts for new handshakes.
    public let credentials: GatewayCredentials

    init(generation: UInt64, routes: [String: PublishedRoute], services: [String: ExportedService], credentials: GatewayCredentials) {
        self.generation = generation
        self.routes = routes
        self.services = services
        self.credentials = credentials
    }
}
