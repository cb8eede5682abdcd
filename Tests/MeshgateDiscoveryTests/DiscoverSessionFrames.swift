import MeshgateLoop
import MeshgateNames
import MeshgateWire
@testable import MeshgateProxy

/// Frames as bytes and back, and small services, for the session tests (no sockets).
enum DiscoverSessionFrames {
    static let west = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-west/sa/gateway")!
    static let other = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-west/sa/other")!
    static let endpoint = try! SocketAddress.resolve("10.0.0.1:8080")

    /// `messages` encoded back to back.
    static func bytes(_ messages: [DiscoveryMessage]) -> [UInt8] {
        messages.flatMap { try! $0.encoded() }
    }

    /// `bytes` decoded frame by frame (they must be whole frames).
    static func messages(_ bytes: [UInt8]?) -> [DiscoveryMessage] {
        var out: [DiscoveryMessage] = []
        var rest = bytes ?? []
        while !rest.isEmpty {
            guard case .complete(let m, let consumed) = DiscoveryMessage.decode(rest) else { return out + [.keepalive, .keepalive] }
            out.append(m)
            rest.removeFirst(consumed)
        }
        return out
    }

    /// An exported service of this cluster with `ports` (one endpoint each) and port names.
    static func exported(
        _ namespace: String, _ name: String, ports: [UInt16], names: [UInt16: String] = [:], exported: Bool = true,
        allowed: Set<WorkloadIdentity>? = nil
    ) -> ExportedService {
        ExportedService(
            namespace: namespace, name: name, exported: exported, allowed: allowed,
            endpoints: Dictionary(uniqueKeysWithValues: ports.map { ($0, [endpoint]) }), portNames: names)
    }

    /// A service as a discover stream describes it.
    static func service(_ name: String, _ ports: [UInt16] = [80], namespace: String = "default", names: [String] = []) -> DiscoveredService {
        DiscoveredService(namespace: namespace, name: name, ports: ports, portNames: names)
    }

    /// `services` by `namespace/name`.
    static func byKey(_ services: [DiscoveredService]) -> [String: DiscoveredService] {
        Dictionary(uniqueKeysWithValues: services.map { ("\($0.namespace)/\($0.name)", $0) })
    }
}
