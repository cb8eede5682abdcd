/// The service a `connect` header asks for: `namespace/name:port`.
///
/// Not validated on construction; `TransportHeader.encode(into:)` refuses a namespace or name that
/// is not a DNS label (1–63 of `[a-z0-9-]`, no leading or trailing `-`) and a port of 0.
public struct ConnectTarget: Hashable, Sendable {
    /// The service's namespace (a DNS label).
    public var namespace: String
    /// The service's name within its namespace (a DNS label).
    public var name: String
    /// The service port (non-zero).
    public var port: UInt16

    /// Creates a target; see the type's documentation for the rules `encode` checks.
    public init(namespace: String, name: String, port: UInt16) {
        self.namespace = namespace
        self.name = name
        self.port = port
    }
}
