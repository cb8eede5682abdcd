import Foundation
import MeshgateKube

extension GatewayController {
    /// How long a gateway with `registry.kubernetes` stays not ready waiting for the first sync;
    /// after it, it is ready with an empty registry (the error in `/status`) so that a broken API
    /// server does not keep mirrored routes (served from other clusters) out of service.
    public static let firstSyncWait: TimeInterval = 10

    /// The source for `registry.kubernetes`, or nil; its changes republish the local services.
    func makeKubernetesRegistry(_ config: GatewayConfig) throws -> KubernetesRegistrySource? {
        guard let settings = config.kubernetesRegistry else { return nil }
        do {
            return try KubernetesRegistrySource(settings: settings, logger: logger) { [weak self] next in
                self?.kubernetesRegistryChanged(next)
            }
        } catch {
            throw ConfigErrors([ConfigError(file: configPath, line: settings.line, field: "registry.kubernetes", message: error.message)])
        }
    }

    /// The client configuration problems of `registry.kubernetes` (a start or `gateway --check`
    /// refuses them): no service account in the pod, an unreadable or unsupported kubeconfig.
    static func kubernetesRegistryProblems(_ config: GatewayConfig, file: String? = nil) -> [ConfigError] {
        guard let settings = config.kubernetesRegistry else { return [] }
        do {
            _ = try settings.api.clientConfig()
            return []
        } catch {
            return [ConfigError(file: file ?? "gateway.yaml", line: settings.line, field: "registry.kubernetes", message: error.message)]
        }
    }

    /// The API server's registry changed: republish the local services (static and mirrored
    /// routes are unchanged).
    func kubernetesRegistryChanged(_ next: Registry) {
        lock.lock()
        registry = next
        let report = publishLocked(resolve: true)
        lock.unlock()
        logPublish(report, first: false)
    }

    /// Not ready while the Kubernetes registry has not synced once, for at most `firstSyncWait`
    /// after it started.
    func kubernetesRegistryNotReady(now: Date) -> String? {
        guard let source = kubernetesRegistry, !source.hasSynced, let started = source.startedAt,
            now.timeIntervalSince(started) < Self.firstSyncWait
        else { return nil }
        var reason = "registry: waiting for the first sync from \(source.server)"
        if let error = source.status(now: now).lastError { reason += " (\(error))" }
        return reason
    }

    /// `/status` `registry`: the Kubernetes source's, or the file's (nil without a registry).
    func registrySourceStatus(now: Date) -> RegistrySourceStatus? {
        if let source = kubernetesRegistry { return source.status(now: now) }
        guard currentConfig.registry != nil else { return nil }
        let count = lock.withLock { registry.services.count }
        return RegistrySourceStatus(source: "file", synced: true, services: count)
    }
}
