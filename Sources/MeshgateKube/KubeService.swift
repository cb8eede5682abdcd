/// A core/v1 Service: the fields meshgate reads and writes.
public struct KubeService: KubeResource {
    /// core/v1 services.
    public static let kind = KubeKind(group: "", version: "v1", plural: "services", kind: "Service", namespaced: true)

    /// The object's metadata.
    public var metadata: KubeObjectMeta
    /// The service's spec.
    public var spec: Spec

    /// A Service from its parts.
    public init(metadata: KubeObjectMeta, spec: Spec = Spec()) {
        self.metadata = metadata
        self.spec = spec
    }

    /// Decodes a Service; a missing `spec` decodes as empty.
    public init(from decoder: any Decoder) throws {
        (metadata, spec) = try KubeObjectWithSpec.decode(from: decoder, empty: Spec())
    }

    /// `spec` of a Service.
    public struct Spec: Codable, Hashable, Sendable {
        /// "ClusterIP" (default), "NodePort", "LoadBalancer", "ExternalName".
        public var type: String?
        /// The pods the service sends to.
        public var selector: [String: String]?
        /// The service's ports.
        public var ports: [Port]?
        /// The virtual IP (set by the server).
        public var clusterIP: String?

        /// A spec from its parts.
        public init(
            type: String? = nil, selector: [String: String]? = nil, ports: [Port]? = nil, clusterIP: String? = nil
        ) {
            self.type = type
            self.selector = selector
            self.ports = ports
            self.clusterIP = clusterIP
        }
    }

    /// One port of a Service.
    public struct Port: Codable, Hashable, Sendable {
        /// The port's name (required when there are several).
        public var name: String?
        /// The service port.
        public var port: Int
        /// The pods' port: a number or a container port name.
        public var targetPort: KubeIntOrString?
        /// "TCP" (default), "UDP", "SCTP".
        public var `protocol`: String?

        /// A port from its parts.
        public init(name: String? = nil, port: Int, targetPort: KubeIntOrString? = nil, protocol: String? = nil) {
            self.name = name
            self.port = port
            self.targetPort = targetPort
            self.protocol = `protocol`
        }
    }
}
