import MeshgateLoop
import MeshgateNames
import MeshgateTLS

/// A service of this cluster as the inbound side sees it: whether it is exported, who may
/// reach it, and its endpoints per service port. Immutable.
public final class ExportedService: Sendable {
    /// `namespace/name`.
    public let key: String
    public let namespace: String
    public let name: String
    /// Reachable from other clusters at all.
    public let exported: Bool
    /// Identities allowed to connect (the peer gateway's, and the original client's when the
    /// header carries one); nil allows any identity the trust bundle vouches for.
    public let allowed: Set<WorkloadIdentity>?
    /// Endpoints by service port.
    public let endpoints: [UInt16: [SocketAddress]]
    /// Port names by service port (IANA service names, checked by the registry); a port not in
    /// the map is unnamed. Sent on `discover` streams whose mirror asked for names.
    public let portNames: [UInt16: String]

    public init(
        namespace: String, name: String, exported: Bool, allowed: Set<WorkloadIdentity>?, endpoints: [UInt16: [SocketAddress]],
        portNames: [UInt16: String] = [:]
    ) {
        self.key = "\(namespace)/\(name)"
        self.namespace = namespace
        self.name = name
        self.exported = exported
        self.allowed = allowed
        self.endpoints = endpoints
        self.portNames = portNames
    }

    /// Whether `identity` may connect.
    public func allows(_ identity: WorkloadIdentity?) -> Bool {
        guard let allowed else { return true }
        guard let identity else { return false }
        return allowed.contains(identity)
    }
}
