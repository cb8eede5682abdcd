import Foundation
import MeshgateKube
import MeshgateNames

/// Reads `registry: {kubernetes: …}` and `mirror: {kubernetes: …}` of a gateway config into
/// `KubernetesRegistrySettings` and `KubernetesMirrorSettings`, reporting what is wrong
/// (docs/gateway-config.md, "registry.kubernetes" and "mirror.kubernetes").
struct KubernetesConfigReader {
    static let apiKeys = ["inCluster", "kubeconfig", "context"]
    static let registryKeys = apiKeys + ["namespaces", "exportSelector", "serviceExports", "allowAnnotation"]
    static let mirrorKeys = apiKeys + ["services", "gatewaySelector", "lease", "holder", "writesPerSecond"]
    static let leaseKeys = ["name", "namespace", "duration", "retry"]
    static let writesPerSecond = 0.01...10_000.0
    /// The service account's namespace file (the lease namespace's fallback in a pod).
    static let serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

    let baseDirectory: String
    let diagnostics: Diagnostics
    /// POD_NAME and POD_NAMESPACE give the mirror's holder and lease namespace defaults.
    let environment: [String: String]

    /// `registry:` when it is a mapping (`{kubernetes: …}`); nil after reporting when wrong.
    func readRegistry(_ value: YAMLValue) -> KubernetesRegistrySettings? {
        guard let outer = value.map(known: ["kubernetes"]) else { return nil }
        guard let entry = outer.value("kubernetes", required: true), let map = entry.map(known: Self.registryKeys) else {
            return nil
        }
        return diagnostics.unlessErrors {
            let api = readAPI(map, required: true)
            let namespaces = readNamespaces(map)
            let selector = map.value("exportSelector")?.parsed(Self.selector)
            let serviceExports = map.value("serviceExports")?.bool ?? true
            let annotation = map.value("allowAnnotation")?.parsed(Self.annotationKey)
            guard let api else { return nil }
            return KubernetesRegistrySettings(
                api: api, namespaces: namespaces,
                exportSelector: selector ?? (try! KubeLabelSelector.parse(KubernetesRegistrySettings.defaultExportSelector)),
                serviceExports: serviceExports, allowAnnotation: annotation ?? KubernetesRegistrySettings.defaultAllowAnnotation,
                line: entry.keyLine)
        }
    }

    /// `mirror:`; nil unless `kubernetes.services` is true (the other keys are checked all the same).
    /// `registryAPI` is `registry.kubernetes`'s API server, the default.
    func readMirror(_ value: YAMLValue, registryAPI: KubernetesAPISettings?, registryIsKubernetes: Bool) -> KubernetesMirrorSettings? {
        guard let outer = value.map(known: ["kubernetes"]) else { return nil }
        guard let entry = outer.value("kubernetes", required: true), let map = entry.map(known: Self.mirrorKeys) else {
            return nil
        }
        let before = diagnostics.errors.count
        let services = map.value("services")?.bool ?? false
        let ownAPI = readAPI(map, required: false)
        if ownAPI == nil, diagnostics.errors.count == before, !registryIsKubernetes, services {
            diagnostics.report(
                line: map.line, field: map.path,
                "needs inCluster: true or kubeconfig: PATH (the registry is not registry.kubernetes, whose API server is the default)")
        }
        let selectorValue = map.value("gatewaySelector")
        let gatewaySelector = selectorValue.flatMap(readLabels)
        if services, selectorValue == nil, !map.contains("gatewaySelector") {
            diagnostics.report(
                line: map.line, field: map.field("gatewaySelector"),
                "missing: with services: true the mirrored Services select the local gateway pods by these labels (e.g. {app: meshgate-gateway})")
        } else if services, selectorValue == nil {
            diagnostics.report(line: map.line(of: "gatewaySelector"), field: map.field("gatewaySelector"), "a value is required")
        }
        let lease = readLease(map, api: ownAPI ?? registryAPI)
        let holder = map.value("holder")?.parsed(Self.nonEmpty)
        let rate = map.value("writesPerSecond").flatMap(readRate)
        guard services, diagnostics.errors.count == before, let api = ownAPI ?? registryAPI, let gatewaySelector, let lease else {
            return nil
        }
        return KubernetesMirrorSettings(
            api: api, gatewaySelector: gatewaySelector, leaseName: lease.name, leaseNamespace: lease.namespace,
            leaseDuration: lease.duration, leaseRetry: lease.retry, holder: holder ?? defaultHolder,
            writesPerSecond: rate ?? KubernetesMirrorSettings.defaultWritesPerSecond)
    }

    /// `inCluster: true` or `kubeconfig: PATH` (+ `context`). Exactly one when `required`; when
    /// not, none is fine (nil, nothing reported).
    private func readAPI(_ map: YAMLMap, required: Bool) -> KubernetesAPISettings? {
        let inCluster = map.value("inCluster")?.bool
        let kubeconfig = map.value("kubeconfig")?.parsed { (text: String) throws(InvalidValue) -> String in
            try GatewayConfigReader.path(text, against: baseDirectory)
        }
        let contextValue = map.value("context")
        let context = contextValue?.parsed(Self.nonEmpty)
        if inCluster == true, map.contains("kubeconfig") {
            diagnostics.report(
                line: map.line(of: "kubeconfig"), field: map.field("kubeconfig"),
                "write either inCluster: true or kubeconfig: PATH, not both")
            return nil
        }
        if let contextValue, !map.contains("kubeconfig") {
            contextValue.report("context needs kubeconfig: PATH (in-cluster has no contexts)")
        }
        if inCluster == true { return KubernetesAPISettings(source: .inCluster) }
        if let kubeconfig { return KubernetesAPISettings(source: .kubeconfig(path: kubeconfig, context: context)) }
        let anyWritten = Self.apiKeys.contains(where: map.contains)
        if required, !anyWritten || (inCluster == false && !map.contains("kubeconfig")) {
            diagnostics.report(
                line: map.line, field: map.path,
                "needs inCluster: true (in a pod) or kubeconfig: PATH to find the API server")
        }
        return nil
    }

    private func readNamespaces(_ map: YAMLMap) -> [String] {
        map.value("namespaces")?.list?.distinctValues("namespace") { $0.parsed(GatewayConfigReader.label) } ?? []
    }

    /// A mapping of label keys to values (`{app: meshgate-gateway}`), not empty.
    private func readLabels(_ value: YAMLValue) -> [String: String]? {
        guard case .mapping(let mapping) = value.node else {
            value.report("expected a mapping of labels (e.g. {app: meshgate-gateway}), found \(value.kind)")
            return nil
        }
        var labels: [String: String] = [:]
        for (key, item) in mapping {
            guard case .scalar(let k) = key, case .scalar(let v) = item else {
                value.report("labels are plain key: value strings")
                return nil
            }
            labels[k.string] = v.string
        }
        if labels.isEmpty {
            value.report("needs at least one label: an empty selector would match every pod")
            return nil
        }
        do {
            _ = try Self.selector(KubeLabelSelector(matching: labels).description)
        } catch {
            value.report(error.message)
            return nil
        }
        return labels
    }

    private struct Lease {
        let name: String
        let namespace: String
        let duration: Duration
        let retry: Duration
    }

    private func readLease(_ map: YAMLMap, api: KubernetesAPISettings?) -> Lease? {
        let lease = map.value("lease")?.map(known: Self.leaseKeys)
        let name = lease?.value("name")?.parsed(Self.objectName)
        let namespace = lease?.value("namespace")?.parsed(GatewayConfigReader.label)
        let durationValue = lease?.value("duration")
        let retryValue = lease?.value("retry")
        let duration = durationValue.map { $0.positiveDuration }
        let retry = retryValue.map { $0.positiveDuration }
        if duration == .some(nil) || retry == .some(nil) { return nil }
        let d = (duration ?? nil) ?? KubernetesMirrorSettings.defaultLeaseDuration
        let r = (retry ?? nil) ?? KubernetesMirrorSettings.defaultLeaseRetry
        if r >= d, let lease {
            let field = lease.field(retryValue != nil ? "retry" : "duration")
            diagnostics.report(
                line: (retryValue ?? durationValue)?.line ?? lease.line, field: field,
                "retry \(DurationText.format(r)) must be less than the lease duration \(DurationText.format(d)) (the holder renews every retry)")
            return nil
        }
        return Lease(
            name: name ?? KubernetesMirrorSettings.defaultLeaseName, namespace: namespace ?? defaultLeaseNamespace(api),
            duration: d, retry: r)
    }

    private func readRate(_ value: YAMLValue) -> Double? {
        guard case .scalar(let scalar) = value.node, scalar.style == .plain, let rate = Double(scalar.string), rate.isFinite
        else {
            value.report("expected a number of writes per second, found \(value.kind)")
            return nil
        }
        guard Self.writesPerSecond.contains(rate) else {
            value.report("writesPerSecond \(scalar.string) out of range (more than 0, at most 10000)")
            return nil
        }
        return rate
    }

    /// POD_NAME, else the host name.
    private var defaultHolder: String {
        if let pod = environment["POD_NAME"], !pod.isEmpty { return pod }
        return ProcessInfo.processInfo.hostName
    }

    /// POD_NAMESPACE, else the client config's namespace (the service account's, or the
    /// kubeconfig context's), else `meshgate-multicluster`.
    private func defaultLeaseNamespace(_ api: KubernetesAPISettings?) -> String {
        if let ns = environment["POD_NAMESPACE"], DNSName.isLabel(ns) { return ns }
        switch api?.source {
        case .inCluster:
            if let text = try? String(contentsOfFile: Self.serviceAccountNamespace, encoding: .utf8) {
                let ns = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if DNSName.isLabel(ns) { return ns }
            }
        case .kubeconfig(let path, let context):
            if let ns = (try? KubeClientConfig.kubeconfig(path: path, context: context))?.namespace, DNSName.isLabel(ns) {
                return ns
            }
        case nil:
            break
        }
        return KubernetesMirrorSettings.defaultLeaseNamespace
    }

    static func selector(_ text: String) throws(InvalidValue) -> KubeLabelSelector {
        do {
            return try KubeLabelSelector.parse(text)
        } catch {
            throw InvalidValue("'\(text)' is not a label selector: \(error)")
        }
    }

    /// An annotation key: an optional DNS-name prefix and `/`, then a name of letters, digits,
    /// `-`, `_` and `.` (at most 63), starting and ending with a letter or digit.
    static func annotationKey(_ text: String) throws(InvalidValue) -> String {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let name = parts.count == 2 ? parts[1] : parts[0]
        if parts.count == 2, !DNSName.isName(String(parts[0])) {
            throw InvalidValue("'\(text)': the prefix '\(parts[0])' is not a DNS name")
        }
        let bytes = Array(name.utf8)
        let alnum: (UInt8) -> Bool = { ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) }
        guard !bytes.isEmpty, bytes.count <= 63, alnum(bytes.first!), alnum(bytes.last!),
            bytes.allSatisfy({ alnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") })
        else {
            throw InvalidValue("'\(text)' is not an annotation key (e.g. meshgate.io/allow)")
        }
        return text
    }

    /// A Kubernetes object name (a DNS subdomain: lowercase labels joined by dots).
    static func objectName(_ text: String) throws(InvalidValue) -> String {
        guard DNSName.isName(text) else { throw InvalidValue("'\(text)' is not a Kubernetes object name (lowercase DNS name)") }
        return text
    }

    static func nonEmpty(_ text: String) throws(InvalidValue) -> String {
        guard !text.isEmpty else { throw InvalidValue("must not be empty") }
        return text
    }
}
