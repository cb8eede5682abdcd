/// One exported service as the `discover` stream describes it: `namespace/name` and its ports.
///
/// Not validated on construction; `DiscoveryMessage.encoded()` refuses a namespace or name that
/// is not a DNS label, a port of 0, a repeated port, and more than
/// `DiscoveryMessage.maxPortsPerService` ports. Port order is kept as given.
public struct DiscoveredService: Hashable, Sendable {
    /// The service's namespace (a DNS label).
    public var namespace: String
    /// The service's name within its namespace (a DNS label).
    public var name: String
    /// The service ports: non-zero, distinct, at most `DiscoveryMessage.maxPortsPerService`.
    public var ports: [UInt16]

    /// Creates a service; see the type's documentation for the rules `encoded()` checks.
    public init(namespace: String, name: String, ports: [UInt16]) {
        self.namespace = namespace
        self.name = name
        self.ports = ports
    }
}
