import Foundation
import MeshgateNames

extension LinkBundle {
    static let keys = ["apiVersion", "kind", "cluster", "gateways", "identity", "anchors"]

    /// Reads and checks the bundle file at `path`.
    public static func load(path: String) throws(ConfigErrors) -> LinkBundle {
        try parse(yaml: try ConfigFile.read(path: path), fileName: path)
    }

    /// Checks bundle text; `fileName` is what errors name. Every problem is reported, each as
    /// `file:line: field: message`; unknown keys are errors.
    public static func parse(yaml: String, fileName: String = "link.yaml") throws(ConfigErrors) -> LinkBundle {
        let diagnostics = Diagnostics(file: fileName)
        guard let root = YAMLDocument.rootMapping(yaml, known: keys, diagnostics: diagnostics) else {
            throw ConfigErrors(diagnostics.sortedErrors)
        }
        if let value = root.value("apiVersion", required: true), let version = value.string, version != apiVersion {
            value.report("'\(version)' is not supported (expected \(apiVersion))")
        }
        if let value = root.value("kind", required: true), let kind = value.string, kind != Self.kind {
            value.report("'\(kind)' is not \(Self.kind)")
        }
        let cluster = root.value("cluster", required: true)?.parsed(GatewayConfigReader.label)
        let gateways = readGateways(root, diagnostics: diagnostics)
        let identity = root.value("identity", required: true)?.parsed(WorkloadIdentity.parse)
        let anchors = root.value("anchors", required: true)?.parsed(anchorCertificates)
        try diagnostics.throwIfAny()
        guard let cluster, let identity, let anchors else {
            // Unreachable: a missing value has been reported.
            throw ConfigErrors([ConfigError(file: fileName, line: nil, field: "", message: "incomplete link bundle")])
        }
        let origin = Origin(
            file: fileName, clusterLine: root.line(of: "cluster"), identityLine: root.line(of: "identity"),
            anchorsLine: root.line(of: "anchors"))
        return LinkBundle(cluster: cluster, gateways: gateways, identity: identity, anchors: anchors, origin: origin)
    }

    /// The most gateway addresses a bundle may list: each is probed every round, so a bundle
    /// cannot make a mirror open connections without bound.
    public static let maxGateways = 16

    /// `gateways`: a non-empty list of `host:port`, without repeats, at most `maxGateways`.
    private static func readGateways(_ root: YAMLMap, diagnostics: Diagnostics) -> [HostPort] {
        guard let value = root.value("gateways", required: true), let items = value.list else { return [] }
        if items.isEmpty { value.report("must list at least one gateway address (host:port)") }
        if items.count > maxGateways {
            value.report("lists \(items.count) gateway addresses; at most \(maxGateways) are allowed")
            return []
        }
        var seen: [HostPort: Int] = [:]
        var gateways: [HostPort] = []
        for item in items {
            guard let address = item.parsed(HostPort.parse) else { continue }
            if let first = seen[address] {
                item.report("\(address) is listed twice (first at line \(first))")
                continue
            }
            seen[address] = item.line
            gateways.append(address)
        }
        return gateways
    }

    /// `anchors`: PEM text holding at least one CERTIFICATE block and nothing but.
    private static func anchorCertificates(_ text: String) throws(InvalidValue) -> [Data] {
        let certificates = try PEMCertificates.parse(text)
        guard !certificates.isEmpty else {
            throw InvalidValue("holds no PEM CERTIFICATE block (expected the trust anchors, -----BEGIN CERTIFICATE----- …)")
        }
        return certificates
    }
}
