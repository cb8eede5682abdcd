import Foundation
import MeshgateNames

/// What one cluster hands another to be linked (docs/links.md): its name, where its gateway is
/// reached, the identity that gateway presents, and the trust anchors its certificates chain to.
/// It holds no secrets.
///
/// Equality ignores `origin` (where the bundle was read from), so a bundle equals itself after
/// `render()` and `parse`.
public struct LinkBundle: Hashable, Sendable {
    /// The only `apiVersion` understood.
    public static let apiVersion = "meshgate/link/v1"
    /// The only `kind` understood.
    public static let kind = "Link"
    /// The suffix of bundle files in a links folder: `<cluster>.link.yaml`.
    public static let fileSuffix = ".link.yaml"

    /// The linked cluster's name, a DNS label.
    public let cluster: String
    /// Where that cluster's gateway (its inbound mTLS port) is reached; at least one; host names allowed.
    public let gateways: [HostPort]
    /// The identity that gateway presents.
    public let identity: WorkloadIdentity
    /// The trust anchors, as DER certificates, in the order written; at least one.
    public let anchors: [Data]
    /// Where the bundle was read from, for errors found after parsing; nil when built in code.
    public let origin: Origin?

    /// The file a bundle was read from, and the lines of the fields later checks point at.
    public struct Origin: Hashable, Sendable {
        public let file: String
        public let clusterLine: Int
        public let identityLine: Int
        public let anchorsLine: Int
    }

    /// Creates a bundle without validation.
    public init(cluster: String, gateways: [HostPort], identity: WorkloadIdentity, anchors: [Data], origin: Origin? = nil) {
        self.cluster = cluster
        self.gateways = gateways
        self.identity = identity
        self.anchors = anchors
        self.origin = origin
    }

    /// The file name this bundle has in a links folder: `<cluster>.link.yaml`.
    public var fileName: String { cluster + Self.fileSuffix }

    public static func == (a: LinkBundle, b: LinkBundle) -> Bool {
        a.cluster == b.cluster && a.gateways == b.gateways && a.identity == b.identity && a.anchors == b.anchors
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(cluster)
        hasher.combine(gateways)
        hasher.combine(identity)
        hasher.combine(anchors)
    }

    /// Checks that this bundle may be linked into a gateway with `config`: it is not for our own
    /// cluster, its identity is the gateway identity of its own cluster
    /// (`spiffe://<td>/ns/meshgate-<cluster>/sa/gateway`) in our trust domain, and it shares a
    /// trust anchor with our bundle.
    public func checkLinkable(into config: GatewayConfig) throws(ConfigErrors) {
        var errors: [ConfigError] = []
        if cluster == config.cluster {
            errors.append(error(line: origin?.clusterLine, field: "cluster", "'\(cluster)' is this cluster's own name; a cluster does not link to itself"))
        }
        if let message = identityMismatch {
            errors.append(error(line: origin?.identityLine, field: "identity", message))
        }
        if identity.trustDomain != config.trustDomain {
            errors.append(error(
                line: origin?.identityLine, field: "identity",
                "trust domain '\(identity.trustDomain)' differs from ours ('\(config.trustDomain)'); linked clusters share one trust domain"))
        }
        do {
            try checkSharesAnchor(withTrustBundleAt: config.identity.trust)
        } catch {
            errors += error.errors
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
    }

    /// Why `identity` is not the gateway identity of `cluster` (nil when it is). A bundle of
    /// cluster west naming north's gateway would send west's routes to whoever proves north.
    public var identityMismatch: String? {
        guard let expected = WorkloadIdentity.gateway(cluster: cluster, trustDomain: identity.trustDomain) else {
            return "cluster '\(cluster)' is too long to name a gateway identity"
        }
        guard identity != expected else { return nil }
        return "'\(identity)' is not the gateway identity of cluster '\(cluster)' (expected \(expected)); a bundle names its own cluster's gateway"
    }

    /// Checks that at least one of `anchors` is (byte for byte, as DER) a certificate of the trust
    /// bundle at `path`. Without a shared anchor neither gateway could verify the other.
    public func checkSharesAnchor(withTrustBundleAt path: String) throws(ConfigErrors) {
        let text = try ConfigFile.read(path: path)
        let ours: [Data]
        do {
            ours = try PEMCertificates.parse(text)
        } catch {
            throw ConfigErrors([ConfigError(file: path, line: nil, field: "", message: "trust bundle: \(error.message)")])
        }
        guard !ours.isEmpty else {
            throw ConfigErrors([ConfigError(file: path, line: nil, field: "", message: "trust bundle: holds no CERTIFICATE block")])
        }
        guard Set(ours).isDisjoint(with: anchors) else { return }
        throw ConfigErrors([error(
            line: origin?.anchorsLine, field: "anchors",
            "shares no certificate with our trust bundle \(path) (\(anchors.count) here, \(ours.count) there); linked clusters must share a trust anchor")])
    }

    private func error(line: Int?, field: String, _ message: String) -> ConfigError {
        ConfigError(file: origin?.file ?? "link bundle", line: line, field: field, message: message)
    }
}

/// The CERTIFICATE blocks of PEM text, decoded to DER; other text between blocks is ignored.
public enum PEMCertificates {
    static let begin = "-----BEGIN "
    static let end = "-----END "
    static let dashes = "-----"

    /// The DER bytes of each `CERTIFICATE` block in order. Throws for a block of another type (a
    /// key has no place in a bundle), a block without its END line, or a body that is not base64.
    /// Returns [] when there is no block at all.
    public static func parse(_ text: String) throws(InvalidValue) -> [Data] {
        var certificates: [Data] = []
        var label: String?
        var body = ""
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if let open = label {
                if line.hasPrefix(end) {
                    guard line == "\(end)\(open)\(dashes)" else {
                        throw InvalidValue("PEM line \(index + 1): '\(line)' does not close BEGIN \(open)")
                    }
                    guard let der = Data(base64Encoded: body), !der.isEmpty else {
                        throw InvalidValue("PEM certificate \(certificates.count + 1) is not valid base64")
                    }
                    certificates.append(der)
                    label = nil
                    body = ""
                } else if line.hasPrefix(begin) {
                    throw InvalidValue("PEM line \(index + 1): BEGIN inside the \(open) block begun before it (no END line)")
                } else {
                    body += line
                }
            } else if line.hasPrefix(begin) {
                guard line.hasSuffix(dashes), line.count > begin.count + dashes.count else {
                    throw InvalidValue("PEM line \(index + 1): malformed BEGIN line")
                }
                let name = String(line.dropFirst(begin.count).dropLast(dashes.count))
                guard name == "CERTIFICATE" else {
                    throw InvalidValue("PEM line \(index + 1): a \(name) block; only CERTIFICATE blocks belong here")
                }
                label = name
            }
        }
        if let open = label { throw InvalidValue("the \(open) block \(certificates.count + 1) has no END line") }
        return certificates
    }

    /// DER certificates as PEM text, 64 base64 characters a line, each block ending in a newline.
    public static func render(_ certificates: [Data]) -> String {
        var text = ""
        for der in certificates {
            text += "-----BEGIN CERTIFICATE-----\n"
            let encoded = der.base64EncodedString()
            var start = encoded.startIndex
            while start < encoded.endIndex {
                let stop = encoded.index(start, offsetBy: 64, limitedBy: encoded.endIndex) ?? encoded.endIndex
                text += encoded[start..<stop] + "\n"
                start = stop
            }
            text += "-----END CERTIFICATE-----\n"
        }
        return text
    }
}
