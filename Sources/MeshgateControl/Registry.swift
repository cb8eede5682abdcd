/// The services of this cluster, as the registry file (`registry.yaml`) lists them.
///
/// Read it with `load(path:)` or `parse(yaml:fileName:)`; every problem in the file is reported
/// at once as `ConfigErrors`.
public struct Registry: Hashable, Sendable {
    /// The services, in file order; no `namespace/name` twice.
    public let services: [RegisteredService]
    private let index: [String: Int]

    /// Creates a registry; a later service with the same namespace and name as an earlier one is not found by lookups.
    public init(services: [RegisteredService]) {
        self.services = services
        var index: [String: Int] = [:]
        for (position, service) in services.enumerated() where index[Self.key(service.namespace, service.name)] == nil {
            index[Self.key(service.namespace, service.name)] = position
        }
        self.index = index
    }

    /// A registry without services.
    public static let empty = Registry(services: [])

    /// The service `namespace/name`, if listed.
    public func service(namespace: String, name: String) -> RegisteredService? {
        index[Self.key(namespace, name)].map { services[$0] }
    }

    /// The endpoints serving port `port` of service `namespace/name` (possibly none), or nil when
    /// there is no such service or the service has no such port.
    public func endpoints(namespace: String, name: String, port: UInt16) -> [HostPort]? {
        service(namespace: namespace, name: name)?.endpoints(port: port)
    }

    /// The services marked `exported: true`.
    public var exportedServices: [RegisteredService] { services.filter(\.exported) }

    private static func key(_ namespace: String, _ name: String) -> String { "\(namespace)/\(name)" }
}
