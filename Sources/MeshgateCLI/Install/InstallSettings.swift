import ArgumentParser
import Foundation
import MeshgateControl
import MeshgateNames

/// What `meshgate install` renders, every flag checked (bad values throw a `ValidationError`
/// naming the flag).
struct InstallSettings {
    enum ServiceType: String, ExpressibleByArgument, CaseIterable { case LoadBalancer, NodePort, ClusterIP }
    enum TrafficPolicy: String, ExpressibleByArgument, CaseIterable { case Local, Cluster }
    enum Output: String, ExpressibleByArgument, CaseIterable { case yaml, json }

    /// How the pod's seccomp profile is chosen (RuntimeDefault blocks io_uring).
    enum Seccomp: Equatable {
        /// The runtime's default profile: io_uring is blocked, the gateway runs on epoll.
        case runtimeDefault
        /// A profile installed on every node (`localhostProfile`, relative to the kubelet's
        /// seccomp folder) that allows io_uring_setup, io_uring_enter and io_uring_register.
        case localhost(String)
        /// No seccomp filter at all (io_uring works; the container loses a defence layer).
        case unconfined
    }

    var cluster: String
    var trustDomain = GatewayDefaults.trustDomain
    var namespace = "meshgate-multicluster"
    var image = "meshgate:\(MeshgateVersion.current)"
    var replicas = 2
    var serviceType = ServiceType.LoadBalancer
    var serviceAnnotations: [(String, String)] = []
    var loadBalancerSourceRanges: [String] = []
    var externalTrafficPolicy: TrafficPolicy? = nil
    var nodeSelector: [(String, String)] = []
    var tolerations: [Toleration] = []
    var identitySecret = "gateway-identity"
    var seccomp = Seccomp.runtimeDefault
    /// The cert-manager issuer reference, when cert-manager issues the identity Secret.
    var certManagerIssuer: IssuerReference? = nil
    var output = Output.yaml
    /// How long open connections may finish on SIGTERM (gateway.yaml `limits.drainTimeout`).
    var drainTimeoutSeconds = 30

    /// The gateway's identity: `spiffe://<td>/ns/meshgate-<cluster>/sa/gateway`.
    var identity: WorkloadIdentity {
        WorkloadIdentity.gateway(cluster: cluster, trustDomain: trustDomain)!
    }

    /// Above the drain timeout, so that the kubelet never kills a draining gateway.
    var terminationGracePeriodSeconds: Int { drainTimeoutSeconds + 15 }

    init(cluster: String) { self.cluster = cluster }
}

/// A toleration written `KEY[=VALUE][:EFFECT]` (kubectl taint's form); `KEY` alone tolerates
/// every effect of that taint whatever its value.
struct Toleration: Equatable {
    static let effects = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
    let key: String
    let value: String?
    let effect: String?

    static func parse(_ text: String) throws(InvalidValue) -> Toleration {
        var rest = Substring(text)
        var effect: String? = nil
        if let colon = rest.lastIndex(of: ":") {
            let e = String(rest[rest.index(after: colon)...])
            guard effects.contains(e) else {
                throw InvalidValue("effect '\(e)' is not one of \(effects.joined(separator: ", "))")
            }
            effect = e
            rest = rest[..<colon]
        }
        var value: String? = nil
        if let eq = rest.firstIndex(of: "=") {
            value = String(rest[rest.index(after: eq)...])
            rest = rest[..<eq]
            try LabelSyntax.checkValue(value!, what: "value")
        }
        try LabelSyntax.checkKey(String(rest), what: "key")
        return Toleration(key: String(rest), value: value, effect: effect)
    }

    var manifest: ManifestValue {
        .object([
            "key": .string(key),
            "operator": .string(value == nil ? "Exists" : "Equal"),
            "value": value.map { .string($0) },
            "effect": effect.map { .string($0) },
        ])
    }
}

/// A cert-manager issuer: `NAME` (an Issuer in the gateway's namespace), `Issuer/NAME` or
/// `ClusterIssuer/NAME`.
struct IssuerReference: Equatable {
    let kind: String
    let name: String

    static func parse(_ text: String) throws(InvalidValue) -> IssuerReference {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let (kind, name) = parts.count == 2 ? (parts[0], parts[1]) : ("Issuer", text)
        guard parts.count <= 2, ["Issuer", "ClusterIssuer"].contains(kind) else {
            throw InvalidValue("not NAME, Issuer/NAME or ClusterIssuer/NAME")
        }
        guard DNSName.isName(name) else {
            throw InvalidValue("'\(name)' is not a Kubernetes object name (lowercase letters, digits, '-' and '.')")
        }
        return IssuerReference(kind: kind, name: name)
    }
}

/// Kubernetes label and annotation syntax (keys: `[prefix/]name`).
enum LabelSyntax {
    /// `K=V`, the key checked as a label/annotation key.
    static func pair(_ text: String, valueIsLabel: Bool) throws(InvalidValue) -> (String, String) {
        guard let eq = text.firstIndex(of: "=") else { throw InvalidValue("not KEY=VALUE") }
        let key = String(text[..<eq])
        let value = String(text[text.index(after: eq)...])
        try checkKey(key, what: "key")
        if valueIsLabel { try checkValue(value, what: "value") }
        return (key, value)
    }

    /// A qualified name: an optional DNS-subdomain prefix and `/`, then 1–63 characters of
    /// letters, digits, `-`, `_`, `.`, starting and ending alphanumeric.
    static func checkKey(_ key: String, what: String) throws(InvalidValue) {
        var name = Substring(key)
        if let slash = key.firstIndex(of: "/") {
            let prefix = String(key[..<slash])
            guard DNSName.isName(prefix), prefix.count <= 253 else {
                throw InvalidValue("\(what): prefix '\(prefix)' is not a DNS subdomain")
            }
            name = key[key.index(after: slash)...]
        }
        guard isName(name) else {
            throw InvalidValue(
                "\(what): '\(name)' must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit")
        }
    }

    /// A label value: empty, or a name as above.
    static func checkValue(_ value: String, what: String) throws(InvalidValue) {
        guard value.isEmpty || isName(Substring(value)) else {
            throw InvalidValue(
                "\(what): '\(value)' must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit")
        }
    }

    private static func isName(_ s: Substring) -> Bool {
        guard (1...63).contains(s.count), let f = s.first, let l = s.last else { return false }
        func alnum(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }
        return alnum(f) && alnum(l) && s.allSatisfy { alnum($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }
}

/// An IPv4 or IPv6 CIDR block (`10.0.0.0/8`, `2001:db8::/32`), as loadBalancerSourceRanges take.
enum CIDRBlock {
    static func check(_ text: String) throws(InvalidValue) -> String {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let bits = Int(parts[1]), parts[1].allSatisfy(\.isNumber) else {
            throw InvalidValue("not a CIDR block (ADDRESS/PREFIX, e.g. 203.0.113.0/24)")
        }
        let address = String(parts[0])
        if IPAddress.isIPv4(address) {
            guard (0...32).contains(bits) else { throw InvalidValue("an IPv4 prefix is 0-32 bits") }
        } else if IPAddress.isIPv6(address) {
            guard (0...128).contains(bits) else { throw InvalidValue("an IPv6 prefix is 0-128 bits") }
        } else {
            throw InvalidValue("'\(address)' is not an IP address")
        }
        return text
    }
}
