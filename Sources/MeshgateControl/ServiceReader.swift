import MeshgateNames
/// Reads one item of `services:` into a `RegisteredService`, reporting what is wrong with it.
struct ServiceReader: ConfigItemReader {
    static let keys = ["namespace", "name", "ports", "endpoints", "exported", "allow"]

    let diagnostics: Diagnostics

    /// The service made of `map`'s fields, or nil when one it needs is missing (errors are reported).
    func item(of map: YAMLMap, line: Int) -> RegisteredService? {
        let namespace = map.value("namespace", required: true)?.parsed(GatewayConfigReader.label)
        let name = map.value("name", required: true)?.parsed(GatewayConfigReader.label)
        let ports = readPorts(map)
        let endpoints = readEndpoints(map, ports: ports)
        let exported = map.value("exported")?.bool ?? false
        let allow = readAllow(map)
        guard let namespace, let name else { return nil }
        return RegisteredService(
            namespace: namespace, name: name, ports: ports, endpoints: endpoints, exported: exported, allow: allow,
            line: line)
    }

    private func readPorts(_ map: YAMLMap) -> [ServicePort] {
        guard let value = map.value("ports", required: true), let items = value.list else { return [] }
        if items.isEmpty { value.report("needs at least one port") }
        var ports: [ServicePort] = []
        for item in items {
            let port: ServicePort?
            if case .mapping = item.node {
                let entry = item.map(known: ["port", "targetPort", "name"])
                let number = entry?.value("port", required: true)?.port
                let target = entry?.value("targetPort")?.port
                let nameValue = entry?.value("name")
                if nameValue == nil, let entry, entry.contains("name") {
                    diagnostics.report(
                        line: entry.line(of: "name"), field: entry.field("name"), "empty value: write a port name, or leave name out")
                    continue
                }
                let name = nameValue?.parsed(ServicePort.checkName)
                if nameValue != nil && name == nil { continue }
                port = number.map { ServicePort(port: $0, targetPort: target, name: name) }
            } else {
                port = item.port.map { ServicePort(port: $0) }
            }
            guard let port else { continue }
            if ports.contains(where: { $0.port == port.port }) {
                item.report("port \(port.port) is listed twice")
                continue
            }
            if let name = port.name, let other = ports.first(where: { $0.name == name }) {
                item.report("port name '\(name)' is already used by port \(other.port)")
                continue
            }
            ports.append(port)
        }
        return ports
    }

    private func readEndpoints(_ map: YAMLMap, ports: [ServicePort]) -> [HostPort] {
        guard let items = map.value("endpoints")?.list else { return [] }
        let targets = Set(ports.map(\.targetPort))
        // An endpoint off the target ports is refused, never kept: a repeat of it is refused the
        // same way, not reported as listed twice.
        return items.distinctValues("endpoint") { item -> HostPort? in
            guard let endpoint = item.parsed(HostPort.parse) else { return nil }
            if !ports.isEmpty, !targets.contains(endpoint.port) {
                let list = targets.sorted().map(String.init).joined(separator: ", ")
                item.report(
                    "endpoint \(endpoint): port \(endpoint.port) is no target port of the service (\(list)), so it would never be used")
                return nil
            }
            return endpoint
        }
    }

    private func readAllow(_ map: YAMLMap) -> [String]? {
        guard let value = map.value("allow") else {
            if map.contains("allow") {
                diagnostics.report(
                    line: map.line(of: "allow"), field: map.field("allow"),
                    "empty value: list the allowed identities ([] allows none), or leave allow out to allow any")
            }
            return nil
        }
        guard let items = value.list else { return nil }
        var allow: [String] = []
        for item in items {
            guard let identity = item.parsed(WorkloadIdentity.parse) else { continue }
            if !allow.contains(identity.spiffeURI) { allow.append(identity.spiffeURI) }
        }
        return allow
    }
}
