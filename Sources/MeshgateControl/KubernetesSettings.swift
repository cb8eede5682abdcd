import Foundation
import MeshgateKube

/// Where a Kubernetes API server is and how to authenticate to it (`inCluster: true`, or
/// `kubeconfig: PATH` with an optional `context`), as gateway.yaml writes it.
public struct KubernetesAPISettings: Hashable, Sendable {
    /// The two ways of finding the API server.
    public enum Source: Hashable, Sendable {
        /// The pod's service account: `KUBERNETES_SERVICE_HOST/PORT`, its token and CA files.
        case inCluster
        /// A kubeconfig file (resolved against gateway.yaml's folder) and a context in it
        /// (nil: its current-context).
        case kubeconfig(path: String, context: String?)
    }

    /// Where the API server is.
    public let source: Source

    /// Creates the value.
    public init(source: Source) {
        self.source = source
    }

    /// The client configuration this source gives: reads the service account's files or the
    /// kubeconfig now (a missing file or an unsupported kubeconfig field is an error naming it).
    public func clientConfig() throws(KubeConfigError) -> KubeClientConfig {
        switch source {
        case .inCluster: return try KubeClientConfig.inCluster()
        case .kubeconfig(let path, let context): return try KubeClientConfig.kubeconfig(path: path, context: context)
        }
    }

    /// `in-cluster` or `kubeconfig PATH (context NAME)`, for messages.
    public var summary: String {
        switch source {
        case .inCluster: return "in-cluster service account"
        case .kubeconfig(let path, let context): return "kubeconfig \(path)" + (context.map { " (context \($0))" } ?? "")
        }
    }
}

/// `registry.kubernetes`: this cluster's services are the exported Kubernetes Services
/// (docs/kubernetes.md, "The registry: exported Services").
public struct KubernetesRegistrySettings: Hashable, Sendable {
    /// The default `exportSelector`: Linkerd's label.
    public static let defaultExportSelector = "mirror.linkerd.io/exported=true"
    /// The default `allowAnnotation`.
    public static let defaultAllowAnnotation = "meshgate.io/allow"

    /// The API server.
    public let api: KubernetesAPISettings
    /// The namespaces watched; empty means all.
    public let namespaces: [String]
    /// A Service whose labels match is exported.
    public let exportSelector: KubeLabelSelector
    /// A ServiceExport (multicluster.x-k8s.io/v1alpha1) of the same namespace and name also exports.
    public let serviceExports: Bool
    /// The annotation whose value (`id1,id2`) is the service's `allow:` list.
    public let allowAnnotation: String
    /// The line of `registry.kubernetes` in gateway.yaml (0 when built in code).
    public let line: Int

    /// Creates the value; defaults as documented.
    public init(
        api: KubernetesAPISettings, namespaces: [String] = [],
        exportSelector: KubeLabelSelector = try! KubeLabelSelector.parse(defaultExportSelector), serviceExports: Bool = true,
        allowAnnotation: String = defaultAllowAnnotation, line: Int = 0
    ) {
        self.api = api
        self.namespaces = namespaces
        self.exportSelector = exportSelector
        self.serviceExports = serviceExports
        self.allowAnnotation = allowAnnotation
        self.line = line
    }
}

/// `mirror.kubernetes` with `services: true`: the mirror writes a Service `<svc>-<cluster>` per
/// mirrored route (docs/kubernetes.md).
public struct KubernetesMirrorSettings: Hashable, Sendable {
    /// Defaults of the lease and the write rate.
    public static let defaultLeaseName = "meshgate-mirror"
    public static let defaultLeaseNamespace = "meshgate-multicluster"
    public static let defaultLeaseDuration: Duration = .seconds(15)
    public static let defaultLeaseRetry: Duration = .seconds(2)
    public static let defaultWritesPerSecond: Double = 20

    /// The API server (default: `registry.kubernetes`'s).
    public let api: KubernetesAPISettings
    /// The labels of the local gateway pods: each mirrored Service's selector.
    public let gatewaySelector: [String: String]
    /// The Lease that elects the one replica that writes.
    public let leaseName: String
    public let leaseNamespace: String
    public let leaseDuration: Duration
    public let leaseRetry: Duration
    /// This replica's name in the Lease (default: env POD_NAME, else the host name).
    public let holder: String
    /// Writes per second (a token bucket, burst = max(1, writesPerSecond)).
    public let writesPerSecond: Double

    /// Creates the value; defaults as documented.
    public init(
        api: KubernetesAPISettings, gatewaySelector: [String: String], leaseName: String = defaultLeaseName,
        leaseNamespace: String = defaultLeaseNamespace, leaseDuration: Duration = defaultLeaseDuration,
        leaseRetry: Duration = defaultLeaseRetry, holder: String, writesPerSecond: Double = defaultWritesPerSecond
    ) {
        self.api = api
        self.gatewaySelector = gatewaySelector
        self.leaseName = leaseName
        self.leaseNamespace = leaseNamespace
        self.leaseDuration = leaseDuration
        self.leaseRetry = leaseRetry
        self.holder = holder
        self.writesPerSecond = writesPerSecond
    }
}
