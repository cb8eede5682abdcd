import MeshgateNames
import Yams

/// Reads `outbound.pin`: a mapping of route key (`namespace/name:port`) to the port its
/// listener always uses, e.g. `pin: {"default/redis-west:6379": 4300}`. Each error names the
/// field (`outbound.pin.<key>`) and its line; a port pinned twice is reported at the second.
enum PortPinReader {
    static func read(_ value: YAMLValue) -> [String: UInt16] {
        guard case .mapping(let mapping) = value.node else {
            value.report("expected a mapping of route key (namespace/name:port) to port, found \(value.kind)")
            return [:]
        }
        var pins: [String: UInt16] = [:]
        var byPort: [UInt16: (key: String, line: Int)] = [:]
        for (keyNode, portNode) in mapping {
            let line = keyNode.mark?.line ?? value.line
            guard case .scalar(let scalar) = keyNode else {
                value.diagnostics.report(line: line, field: value.field, "keys must be route keys (namespace/name:port)")
                continue
            }
            let key = scalar.string
            let field = "\(value.field).\(key)"
            do { try checkKey(key) } catch {
                value.diagnostics.report(line: line, field: field, error.message)
                continue
            }
            value.diagnostics.fieldLines[field] = portNode.mark?.line ?? line
            let item = YAMLValue(
                node: portNode, field: field, line: portNode.mark?.line ?? line, keyLine: line, diagnostics: value.diagnostics)
            guard let port = item.port else { continue }
            if let first = byPort[port] {
                item.report("port \(port) is already pinned to \(first.key) (line \(first.line))")
                continue
            }
            byPort[port] = (key, line)
            pins[key] = port
        }
        return pins
    }

    /// `namespace/name:port`, as routes are keyed (`meshgate routes` shows them).
    static func checkKey(_ key: String) throws(InvalidValue) {
        let expected = "expected a route key namespace/name:port, e.g. default/redis-west:6379"
        guard let colon = key.lastIndex(of: ":"), let slash = key.firstIndex(of: "/"), slash < colon else {
            throw InvalidValue("'\(key)' is not a route key (\(expected))")
        }
        let namespace = String(key[..<slash])
        let name = String(key[key.index(after: slash)..<colon])
        do {
            try DNSName.validateLabel(namespace)
            try DNSName.validateLabel(name)
            _ = try HostPort.parsePort(key[key.index(after: colon)...])
        } catch {
            throw InvalidValue("'\(key)' is not a route key: \(error.message) (\(expected))")
        }
    }
}
