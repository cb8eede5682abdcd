/// One exported service as the `discover` stream describes it: `namespace/name`, its ports and
/// (when the mirror asked for them) the ports' names.
///
/// Not validated on construction; `DiscoveryMessage.encoded()` refuses a namespace or name that
/// is not a DNS label, a port of 0, a repeated port, more than `DiscoveryMessage.maxPortsPerService`
/// ports, a `portNames` whose count differs from that of `ports`, a name that is not a
/// `PortName` (IANA service name) and a name used twice. Port order is kept as given.
public struct DiscoveredService: Hashable, Sendable {
    /// The service's namespace (a DNS label).
    public var namespace: String
    /// The service's name within its namespace (a DNS label).
    public var name: String
    /// The service ports: non-zero, distinct, at most `DiscoveryMessage.maxPortsPerService`.
    public var ports: [UInt16]
    /// The ports' names, parallel to `ports` (same count; "" = unnamed). All "" when no port is
    /// named or the stream carried no names.
    public var portNames: [String]

    /// Creates a service; see the type's documentation for the rules `encoded()` checks. An empty
    /// `portNames` means "no port is named" and is stored as one "" per port.
    public init(namespace: String, name: String, ports: [UInt16], portNames: [String] = []) {
        self.namespace = namespace
        self.name = name
        self.ports = ports
        self.portNames = portNames.isEmpty ? Array(repeating: "", count: ports.count) : portNames
    }

    /// The name of `ports[index]`, or "" when it has none.
    public func portName(at index: Int) -> String {
        index < portNames.count ? portNames[index] : ""
    }

    /// The name of port `port`, or nil when the service has no such port or it is unnamed.
    public func portName(for port: UInt16) -> String? {
        guard let index = ports.firstIndex(of: port) else { return nil }
        let name = portName(at: index)
        return name.isEmpty ? nil : name
    }

    /// Whether any port has a name.
    public var hasPortNames: Bool { portNames.contains { !$0.isEmpty } }
}
