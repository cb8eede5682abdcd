import MeshgateNames
import MeshgateWire

/// A service port and the endpoint port its connections go to.
public struct ServicePort: Hashable, Sendable {
    /// The port clients (and remote gateways) ask for.
    public let port: UInt16
    /// The endpoint port connections to `port` go to (equal to `port` unless written).
    public let targetPort: UInt16
    /// The port's name (an IANA service name, unique within the service), or nil when unnamed.
    public let name: String?

    /// Creates the value; `targetPort` defaults to `port`.
    public init(port: UInt16, targetPort: UInt16? = nil, name: String? = nil) {
        self.port = port
        self.targetPort = targetPort ?? port
        self.name = name
    }

    /// `text` when it is a valid port name (an IANA service name as Kubernetes defines it: 1–15
    /// characters of `[a-z0-9-]`, at least one letter, no leading or trailing `-`, no `--`).
    public static func checkName(_ text: String) throws(InvalidValue) -> String {
        if let problem = PortName.problem(text) {
            throw InvalidValue("'\(text)' is not a port name: \(problem) (an IANA service name: 1-15 of [a-z0-9-], a letter)")
        }
        return text
    }
}

/// A local service in the registry: where its endpoints are, and whether other clusters may reach it.
public struct RegisteredService: Hashable, Sendable {
    /// The namespace (a DNS label).
    public let namespace: String
    /// The name (a DNS label).
    public let name: String
    /// The service's ports (at least one, no port twice).
    public let ports: [ServicePort]
    /// The endpoints; each one's port is the `targetPort` of at least one service port.
    public let endpoints: [HostPort]
    /// Whether linked clusters may see and reach the service.
    public let exported: Bool
    /// The identities allowed to connect, as SPIFFE URIs; nil means any identity the trust bundle vouches for.
    public let allow: [String]?
    /// The line of the service in its file (0 when built in code), for messages.
    public let line: Int

    /// Creates the value; `allow` entries are kept as given (write SPIFFE URIs).
    public init(
        namespace: String, name: String, ports: [ServicePort], endpoints: [HostPort], exported: Bool = false,
        allow: [String]? = nil, line: Int = 0
    ) {
        self.namespace = namespace
        self.name = name
        self.ports = ports
        self.endpoints = endpoints
        self.exported = exported
        self.allow = allow
        self.line = line
    }

    /// The endpoint port for service port `port`, or nil when the service has no such port.
    public func targetPort(for port: UInt16) -> UInt16? {
        ports.first { $0.port == port }?.targetPort
    }

    /// The endpoints that serve service port `port` (those whose port is its target port; possibly
    /// none), or nil when the service has no such port.
    public func endpoints(port: UInt16) -> [HostPort]? {
        guard let target = targetPort(for: port) else { return nil }
        return endpoints.filter { $0.port == target }
    }

    /// Whether a peer with `identity` (either written form) may connect: true when `allow` is nil,
    /// else when the identity is in it.
    public func allows(identity: String) -> Bool {
        guard let allow else { return true }
        guard let parsed = try? WorkloadIdentity.parse(identity) else { return false }
        return allow.contains(parsed.spiffeURI)
    }
}
