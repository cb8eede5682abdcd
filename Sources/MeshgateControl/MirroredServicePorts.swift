import MeshgateKube

/// The route ports the mirrored Services in the API already name, adopted by every replica as
/// pins (docs/kubernetes.md, "Mirrored Services", "Replicas agree on ports").
///
/// A route's port is derived from its key, but a collision is settled by whoever came first, so
/// two replicas that learned routes in different orders can disagree. kube-proxy sends a
/// Service's traffic to any gateway pod at the Service's `targetPort`: the Services written by the
/// Lease holder are therefore the ports every replica must listen on. Each replica reads them
/// from its informer and pins them; a route on another port moves, and a new Lease holder finds
/// every Service already right (no writes at a takeover).
public enum MirroredServicePorts {
    /// Route key (`namespace/name:port`) → `targetPort` of every numbered port of every Service
    /// meshgate owns, kept only when the port is in `range` (a Service written for another
    /// range is re-allocated, not adopted). Two Services naming one port: the first key wins.
    public static func adopted(from services: some Sequence<KubeService>, range: ClosedRange<UInt16>) -> [String: UInt16] {
        var candidates: [(key: String, port: UInt16)] = []
        for service in services where KubernetesNames.isOwned(labels: service.metadata.labels) {
            guard let namespace = service.metadata.namespace else { continue }
            for p in service.spec.ports ?? [] {
                guard case .int(let target)? = p.targetPort, let port = UInt16(exactly: target), range.contains(port),
                    let remote = UInt16(exactly: p.port)
                else { continue }
                candidates.append(("\(namespace)/\(service.metadata.name):\(remote)", port))
            }
        }
        var out: [String: UInt16] = [:]
        var used = Set<UInt16>()
        for c in candidates.sorted(by: { $0.key < $1.key }) where out[c.key] == nil && used.insert(c.port).inserted {
            out[c.key] = c.port
        }
        return out
    }

    /// The pins the port allocator uses: `configured` (`outbound.pin`) and `adopted`; a configured
    /// pin wins by key and by port.
    public static func merge(configured: [String: UInt16], adopted: [String: UInt16]) -> [String: UInt16] {
        guard !adopted.isEmpty else { return configured }
        let taken = Set(configured.values)
        var out = configured
        for (key, port) in adopted where configured[key] == nil && !taken.contains(port) {
            out[key] = port
        }
        return out
    }
}
