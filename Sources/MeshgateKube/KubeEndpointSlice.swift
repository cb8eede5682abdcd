/// A discovery.k8s.io/v1 EndpointSlice: a service's endpoint addresses and ports.
public struct KubeEndpointSlice: KubeResource {
    /// discovery.k8s.io/v1 endpointslices.
    public static let kind = KubeKind(
        group: "discovery.k8s.io", version: "v1", plural: "endpointslices", kind: "EndpointSlice", namespaced: true)

    /// The label naming the Service a slice belongs to.
    public static let serviceNameLabel = "kubernetes.io/service-name"

    /// The object's metadata.
    public var metadata: KubeObjectMeta
    /// "IPv4", "IPv6" or "FQDN".
    public var addressType: String
    /// The endpoints.
    public var endpoints: [Endpoint]?
    /// The ports every endpoint serves.
    public var ports: [Port]?

    /// A slice from its parts.
    public init(metadata: KubeObjectMeta, addressType: String = "IPv4", endpoints: [Endpoint]? = nil, ports: [Port]? = nil) {
        self.metadata = metadata
        self.addressType = addressType
        self.endpoints = endpoints
        self.ports = ports
    }

    /// One endpoint: its addresses and readiness.
    public struct Endpoint: Codable, Hashable, Sendable {
        /// The endpoint's addresses (usually one).
        public var addresses: [String]
        /// Readiness conditions.
        public var conditions: Conditions?

        /// An endpoint from its parts.
        public init(addresses: [String], conditions: Conditions? = nil) {
            self.addresses = addresses
            self.conditions = conditions
        }
    }

    /// An endpoint's conditions; `nil` means unknown (`ready` unknown counts as ready).
    public struct Conditions: Codable, Hashable, Sendable {
        /// Ready for traffic.
        public var ready: Bool?
        /// Serving (possibly while terminating).
        public var serving: Bool?
        /// Terminating.
        public var terminating: Bool?

        /// Conditions from their parts.
        public init(ready: Bool? = nil, serving: Bool? = nil, terminating: Bool? = nil) {
            self.ready = ready
            self.serving = serving
            self.terminating = terminating
        }
    }

    /// One port of a slice.
    public struct Port: Codable, Hashable, Sendable {
        /// The name, matching the Service port's name.
        public var name: String?
        /// The port number (`nil`: all ports).
        public var port: Int?
        /// "TCP" (default), "UDP", "SCTP".
        public var `protocol`: String?

        /// A port from its parts.
        public init(name: String? = nil, port: Int? = nil, protocol: String? = nil) {
            self.name = name
            self.port = port
            self.protocol = `protocol`
        }
    }
}
