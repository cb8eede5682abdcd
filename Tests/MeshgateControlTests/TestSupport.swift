import Foundation
import Testing

@testable import MeshgateControl
import MeshgateTestKit

/// The error lines `parse` reports for a gateway config, or [] when it parses.
func gatewayErrors(_ yaml: String) -> [String] {
    errorLines { () throws(ConfigErrors) in _ = try GatewayConfig.parse(yaml: yaml, fileName: "gateway.yaml") }
}

/// The error lines `parse` reports for a registry, or [] when it parses.
func registryErrors(_ yaml: String) -> [String] {
    errorLines { () throws(ConfigErrors) in _ = try Registry.parse(yaml: yaml, fileName: "registry.yaml") }
}

/// The error lines `parse` throws, or [] when it does not throw.
func errorLines(_ parse: () throws(ConfigErrors) -> Void) -> [String] {
    do {
        try parse()
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

/// The smallest valid gateway config, followed by `extra` lines.
func minimalGateway(_ extra: String = "") -> String {
    """
    cluster: west
    identity:
      cert: tls.crt
      key: tls.key
      trust: ca.crt

    """ + extra
}

/// Thread-safe collector for callbacks.
final class Recorder<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Element] = []

    func append(_ item: Element) { lock.withLock { items.append(item) } }
    var all: [Element] { lock.withLock { items } }
}

