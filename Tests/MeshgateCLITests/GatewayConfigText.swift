import Foundation
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

// gateway.yaml and registry.yaml text for the `meshgate gateway` integration tests, and the
// files they are written to.

/// A static route of gateway.yaml.
struct RouteSpec {
    var name: String
    var namespace = "default"
    var port: UInt16 = 7000
    var cluster = "west"
    var gateways: [String]
    var target: (namespace: String, name: String, port: UInt16)? = nil
    var listen: String? = nil
    var requireClientTLS: Bool? = nil

    /// The route key (`namespace/name:port`), as the gateway logs it.
    var key: String { "\(namespace)/\(name):\(port)" }

    var yaml: String {
        var s = """
              - name: \(name)
                namespace: \(namespace)
                port: \(port)
                cluster: \(cluster)
                gateways: [\(gateways.map { "\"\($0)\"" }.joined(separator: ", "))]

            """
        if let t = target { s += "    target: {namespace: \(t.namespace), name: \(t.name), port: \(t.port)}\n" }
        if let listen { s += "    listen: \(listen)\n" }
        if let requireClientTLS { s += "    requireClientTLS: \(requireClientTLS)\n" }
        return s
    }
}

/// A service of registry.yaml.
struct ServiceSpec {
    var namespace = "default"
    var name: String
    /// (port, targetPort)
    var ports: [(UInt16, UInt16)]
    var endpoints: [String]
    var exported = true
    /// nil: no `allow` key (any identity).
    var allow: [String]? = nil

    var yaml: String {
        var s = """
              - namespace: \(namespace)
                name: \(name)
                ports: [\(ports.map { "{port: \($0.0), targetPort: \($0.1)}" }.joined(separator: ", "))]
                endpoints: [\(endpoints.map { "\"\($0)\"" }.joined(separator: ", "))]
                exported: \(exported)

            """
        if let allow { s += "    allow: [\(allow.joined(separator: ", "))]\n" }
        return s
    }
}

enum GatewayYAML {
    /// gateway.yaml text.
    static func gateway(
        cluster: String, identity: GatewayPKI.Files, inbound: UInt16, outbound: ClosedRange<UInt16>, registry: String? = nil,
        ioBackend: String = "auto", routes: [RouteSpec] = [], links: String? = nil
    ) -> String {
        var s = """
            cluster: \(cluster)
            identity:
              cert: \(identity.cert)
              key: \(identity.key)
              trust: \(identity.trust)
            inbound:
              listen: 127.0.0.1:\(inbound)
            outbound:
              bind: 127.0.0.1
              ports: \(outbound.lowerBound)-\(outbound.upperBound)
            limits:
              drainTimeout: 2s
              connectTimeout: 2s
            loops: 2
            ioBackend: \(ioBackend)

            """
        if let registry { s += "registry: \(registry)\n" }
        // `links` is the value as written: a folder, or a flow mapping `{dir: …, probe: {…}}`.
        if let links { s += "links: \(links)\n" }
        if routes.isEmpty { return s }
        s += "routes:\n"
        for r in routes { s += r.yaml }
        return s
    }

    /// registry.yaml text.
    static func registry(_ services: [ServiceSpec]) -> String {
        if services.isEmpty { return "services: []\n" }
        return "services:\n" + services.map(\.yaml).joined()
    }
}

/// Writes `text` to `path` atomically (a temporary file in the same folder, renamed over it),
/// as the docs tell operators to, so a watcher never reads half a file.
func writeAtomically(_ text: String, to path: String) throws {
    let tmp = path + ".tmp-\(UUID().uuidString)"
    try text.write(toFile: tmp, atomically: false, encoding: .utf8)
    guard rename(tmp, path) == 0 else {
        let e = errno
        unlink(tmp)
        throw TestFailure("rename \(tmp) → \(path): \(String(cString: strerror(e)))")
    }
}

/// A fresh temporary folder for one test's files.
func makeTestDirectory(_ label: String) throws -> String {
    let dir = NSTemporaryDirectory() + "meshgate-\(label)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
