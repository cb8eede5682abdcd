import Foundation
import Logging
import MeshgateKube
import MeshgateNames

extension GatewayCheck {
    /// How long the API server checks may take in all.
    public static let kubernetesTimeout: Duration = .seconds(5)

    /// `registry.kubernetes`: the source as configured, then whether its API server answers:
    /// `GET /version` and a list of the exported Services (and ServiceExports), within
    /// `timeout`. An unreachable or refusing API server fails the check.
    static func kubernetesRegistryChecks(_ settings: KubernetesRegistrySettings, timeout: Duration = kubernetesTimeout) -> [CheckResult] {
        let namespaces = settings.namespaces.isEmpty ? "all namespaces" : "namespaces " + settings.namespaces.joined(separator: ", ")
        let exportsWord = settings.serviceExports ? ", or a ServiceExport" : ""
        let config: KubeClientConfig
        do {
            config = try settings.api.clientConfig()
        } catch {
            let hint =
                settings.api.source == .inCluster
                ? "in a pod the service account is mounted (automountServiceAccountToken); elsewhere write kubeconfig: PATH"
                : "the kubeconfig needs the cluster's server and CA, and a token, token file or client certificate (docs/kubernetes.md)"
            return [CheckResult("registry source", .failed, "kubernetes (\(settings.api.summary)): \(error)", hint: hint)]
        }
        var results = [
            CheckResult(
                "registry source", .ok,
                "kubernetes: \(config.server) (\(settings.api.summary)), \(namespaces), exported by label \(settings.exportSelector)\(exportsWord)")
        ]
        let name = "API server"
        let outcome = runBlocking(timeout: timeout) { () async -> Result<(String, Int, String?), KubeError> in
            let client = KubeClient(config: config, logger: Logger(label: "meshgate.check", factory: { _ in SwiftLogNoOpLogHandler() }))
            let result: Result<(String, Int, String?), KubeError>
            do throws(KubeError) {
                let version = try await client.version()
                let (count, note) = try await exportedCount(client, settings)
                result = .success((version, count, note))
            } catch {
                result = .failure(error)
            }
            await client.shutdown()
            return result
        }
        switch outcome {
        case .none:
            results.append(
                CheckResult(
                    name, .failed, "\(config.server): no answer within \(DurationText.format(timeout))",
                    hint: "is the address right and reachable from here (a firewall, a NetworkPolicy)?"))
        case .success(let (version, count, note))?:
            results.append(
                CheckResult(
                    name, .ok, "\(config.server) reachable (\(version)), \(count) exported service(s)" + (note.map { "; \($0)" } ?? "")))
        case .failure(let error)?:
            results.append(CheckResult(name, .failed, "\(config.server): \(error)", hint: hint(for: error)))
        }
        return results
    }

    /// Exported Services in the watched namespaces: by label, plus (when enabled and served)
    /// those with a ServiceExport. The note says when ServiceExports are not served.
    static func exportedCount(_ client: KubeClient, _ settings: KubernetesRegistrySettings) async throws(KubeError) -> (Int, String?) {
        var names = Set<String>()
        var note: String?
        let scopes: [String?] = settings.namespaces.isEmpty ? [nil] : settings.namespaces
        for namespace in scopes {
            let labelled = try await client.list(KubeService.self, namespace: namespace, labelSelector: settings.exportSelector)
            for s in labelled.items { names.insert("\(s.metadata.namespace ?? "")/\(s.metadata.name)") }
            guard settings.serviceExports, note == nil else { continue }
            do {
                let exports = try await client.list(KubeServiceExport.self, namespace: namespace, labelSelector: nil)
                let all = try await client.list(KubeService.self, namespace: namespace, labelSelector: nil)
                let existing = Set(all.items.map { "\($0.metadata.namespace ?? "")/\($0.metadata.name)" })
                for e in exports.items {
                    let key = "\(e.metadata.namespace ?? "")/\(e.metadata.name)"
                    if existing.contains(key) { names.insert(key) }
                }
            } catch where error.isNotFound {
                note = "ServiceExports are not served (no multicluster.x-k8s.io CRD): Services export by label only"
            }
        }
        return (names.count, note)
    }

    /// What to do about an API error.
    static func hint(for error: KubeError) -> String {
        switch error.code {
        case 401?: return "the API server does not accept the credentials: a stale token or a client certificate it does not trust"
        case 403?:
            return "the account may not list Services, EndpointSlices or ServiceExports: apply the ClusterRole of meshgate install (docs/kubernetes.md#rbac)"
        case let code? where code >= 500: return "the API server is failing; see its log"
        case _?: return "see the message; docs/kubernetes.md"
        case nil:
            switch error.reason {
            case "TLS": return "the CA does not verify the server's certificate, or the client certificate is unusable: check certificate-authority and the server URL"
            default: return "is the API server up and reachable from here (address, port, firewall)?"
            }
        }
    }

    /// Runs `operation` on the concurrency pool and waits for it at most `timeout`; nil when it
    /// did not finish in time (it is cancelled).
    static func runBlocking<T: Sendable>(timeout: Duration, _ operation: @escaping @Sendable () async -> T) -> T? {
        let box = BlockingBox<T>()
        let done = DispatchSemaphore(value: 0)
        let task = Task {
            let v = await operation()
            box.lock.withLock { box.value = v }
            done.signal()
        }
        let c = timeout.components
        let nanos = Int(c.seconds) * 1_000_000_000 + Int(c.attoseconds / 1_000_000_000)
        if done.wait(timeout: .now() + .nanoseconds(nanos)) == .timedOut {
            task.cancel()
            return nil
        }
        return box.lock.withLock { box.value }
    }
}

/// The result slot of `GatewayCheck.runBlocking`, written once by the task.
private final class BlockingBox<T>: @unchecked Sendable {
    // Invariant: `value` is touched only with `lock` held.
    let lock = NSLock()
    var value: T?
}
