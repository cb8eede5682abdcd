import Foundation
import MeshgateKube
import MeshgateNames

/// Builds the gateway's `Registry` from what the API server holds: the Services, their
/// EndpointSlices and the ServiceExports (docs/kubernetes.md, "The registry: exported Services").
/// Pure: the caches go in, the registry and the Services left out (with why) come out.
///
/// - A Service is exported when its labels match `exportSelector`, or (with `serviceExports`)
///   when a ServiceExport of the same namespace and name exists. Only exported Services enter
///   the registry.
/// - Its ports are `spec.ports` (name, port), TCP only. The endpoints are the addresses of the
///   endpoints whose `ready` condition is not false in the EndpointSlices labelled
///   `kubernetes.io/service-name=<name>` in its namespace. A service port's target port is the
///   slice port with the same name (an unnamed one matches an unnamed one): this resolves
///   named and numbered `targetPort`s alike, as kube-proxy does. Should the slices disagree on
///   that number (a rolling change of a named port), the number with the most ready addresses wins.
/// - `allowAnnotation` (`"id1,id2"`, SPIFFE URIs or the DNS form) gives the `allow:` list; a
///   bad identity or an empty value leaves that Service out, never the others.
/// - ExternalName Services are left out (there is nothing to connect to); headless ones work.
public enum KubernetesRegistry {
    /// The label EndpointSlices carry to name their Service.
    public static let serviceNameLabel = "kubernetes.io/service-name"

    /// An exported Service left out of the registry, and why.
    public struct Skipped: Error, Hashable, Sendable, CustomStringConvertible {
        public let namespace: String
        public let name: String
        public let reason: String

        public init(namespace: String, name: String, reason: String) {
            self.namespace = namespace
            self.name = name
            self.reason = reason
        }

        /// `service ns/name left out of the registry: reason`.
        public var description: String { "service \(namespace)/\(name) left out of the registry: \(reason)" }
    }

    /// The registry (services sorted by namespace and name) and the exported Services left out.
    public static func build(
        services: some Collection<KubeService>, slices: some Collection<KubeEndpointSlice>,
        exports: some Collection<KubeServiceExport>, settings: KubernetesRegistrySettings
    ) -> (registry: Registry, skipped: [Skipped]) {
        let exported = Set(exports.map { key($0.metadata.namespace ?? "", $0.metadata.name) })
        var slicesByService: [String: [KubeEndpointSlice]] = [:]
        for slice in slices {
            guard let service = slice.metadata.labels?[serviceNameLabel] else { continue }
            slicesByService[key(slice.metadata.namespace ?? "", service), default: []].append(slice)
        }
        var result: [RegisteredService] = []
        var skipped: [Skipped] = []
        let sorted = services.sorted { key($0.metadata.namespace ?? "", $0.metadata.name) < key($1.metadata.namespace ?? "", $1.metadata.name) }
        for service in sorted {
            let namespace = service.metadata.namespace ?? ""
            let name = service.metadata.name
            let id = key(namespace, name)
            let byLabel = settings.exportSelector.matches(service.metadata.labels ?? [:])
            guard byLabel || (settings.serviceExports && exported.contains(id)) else { continue }
            switch registered(service, slices: slicesByService[id] ?? [], allowAnnotation: settings.allowAnnotation) {
            case .success(let r): result.append(r)
            case .failure(let s): skipped.append(s)
            }
        }
        return (Registry(services: result), skipped)
    }

    /// One exported Service as a registry entry, or why it cannot be one.
    static func registered(
        _ service: KubeService, slices: [KubeEndpointSlice], allowAnnotation: String
    ) -> Result<RegisteredService, Skipped> {
        let namespace = service.metadata.namespace ?? ""
        let name = service.metadata.name
        func skip(_ reason: String) -> Result<RegisteredService, Skipped> {
            .failure(Skipped(namespace: namespace, name: name, reason: reason))
        }
        guard DNSName.isLabel(namespace), DNSName.isLabel(name) else { return skip("namespace and name must be DNS labels") }
        if service.spec.type == "ExternalName" { return skip("an ExternalName Service has no endpoints to connect to") }
        let tcp = (service.spec.ports ?? []).filter { ($0.protocol ?? "TCP") == "TCP" }
        guard !tcp.isEmpty else { return skip("no TCP port (the gateway carries TCP only)") }
        var allow: [String]? = nil
        if let value = service.metadata.annotations?[allowAnnotation] {
            switch parseAllow(value) {
            case .success(let list): allow = list
            case .failure(let e): return skip("annotation \(allowAnnotation): \(e.message)")
            }
        }
        var ports: [ServicePort] = []
        var endpoints: [HostPort] = []
        for p in tcp {
            guard let number = UInt16(exactly: p.port), number > 0 else { continue }
            if ports.contains(where: { $0.port == number }) { continue }
            let resolved = targetEndpoints(slices, portName: p.name ?? "")
            let target = resolved?.port ?? fallbackTarget(p) ?? number
            ports.append(ServicePort(port: number, targetPort: target, name: p.name.flatMap { $0.isEmpty ? nil : $0 }))
            for address in resolved?.addresses ?? [] {
                let e = HostPort(host: address, port: target)
                if !endpoints.contains(e) { endpoints.append(e) }
            }
        }
        guard !ports.isEmpty else { return skip("no valid port") }
        endpoints.sort { ($0.host, $0.port) < ($1.host, $1.port) }
        return .success(
            RegisteredService(namespace: namespace, name: name, ports: ports, endpoints: endpoints, exported: true, allow: allow))
    }

    /// The target port number for service port `portName` and the ready addresses serving it,
    /// from the slices; nil when no slice has a port of that name.
    static func targetEndpoints(_ slices: [KubeEndpointSlice], portName: String) -> (port: UInt16, addresses: [String])? {
        var byPort: [UInt16: Set<String>] = [:]
        for slice in slices where slice.addressType == "IPv4" || slice.addressType == "IPv6" {
            guard let sp = slice.ports?.first(where: { ($0.name ?? "") == portName }), let n = sp.port,
                let number = UInt16(exactly: n), number > 0, (sp.protocol ?? "TCP") == "TCP"
            else { continue }
            var set = byPort[number, default: []]
            for endpoint in slice.endpoints ?? [] where endpoint.conditions?.ready != false {
                for address in endpoint.addresses where IPAddress.isIP(address) { set.insert(address) }
            }
            byPort[number] = set
        }
        guard let best = byPort.max(by: { ($0.value.count, $1.key) < ($1.value.count, $0.key) }) else { return nil }
        return (best.key, best.value.sorted())
    }

    /// A numeric `targetPort` (used until a slice says otherwise; there are no endpoints then).
    private static func fallbackTarget(_ p: KubeService.Port) -> UInt16? {
        if case .int(let n)? = p.targetPort, let number = UInt16(exactly: n), number > 0 { return number }
        return nil
    }

    /// `"id1, id2"`: SPIFFE URIs or the DNS form, normalised to SPIFFE URIs, without repeats.
    static func parseAllow(_ value: String) -> Result<[String], InvalidValue> {
        let items = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !items.isEmpty else {
            return .failure(InvalidValue("empty value: list the allowed identities (id1,id2), or remove the annotation to allow any"))
        }
        var allow: [String] = []
        for item in items {
            do {
                let identity = try WorkloadIdentity.parse(item)
                if !allow.contains(identity.spiffeURI) { allow.append(identity.spiffeURI) }
            } catch {
                return .failure(error)
            }
        }
        return .success(allow)
    }

    static func key(_ namespace: String, _ name: String) -> String { "\(namespace)/\(name)" }
}
