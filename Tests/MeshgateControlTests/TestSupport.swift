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

/// A fresh folder under the system temporary folder, removed by `cleanup()`.
struct TemporaryFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "meshgate-control-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: file(name), atomically: false, encoding: .utf8)
    }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Thread-safe collector for callbacks.
final class Recorder<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Element] = []

    func append(_ item: Element) { lock.withLock { items.append(item) } }
    var all: [Element] { lock.withLock { items } }
}

