import MeshgateNames
import MeshgateProxy
/// The gateway's configuration file (`gateway.yaml`), every value resolved with its default.
///
/// Read it with `load(path:)` or `parse(yaml:fileName:baseDirectory:)`; both report every problem
/// in the file at once as `ConfigErrors`. Paths in it are resolved against the file's folder.
public struct GatewayConfig: Hashable, Sendable {
    /// This cluster's name (a DNS label).
    public let cluster: String
    /// The trust domain all clusters share.
    public let trustDomain: String
    /// The gateway's certificate, key and trust bundle.
    public let identity: IdentityFiles
    /// The mTLS port other gateways connect to.
    public let inbound: InboundSettings
    /// The listeners local applications connect to.
    public let outbound: OutboundSettings
    /// The admin HTTP endpoint.
    public let admin: AdminSettings
    /// The local service registry file, if any (`registry: PATH`).
    public let registry: String?
    /// The exported Kubernetes Services as the registry (`registry: {kubernetes: …}`); at most
    /// one of `registry` and this is set.
    public let kubernetesRegistry: KubernetesRegistrySettings?
    /// The mirror's `<svc>-<cluster>` Services (`mirror.kubernetes` with `services: true`), if written.
    public let kubernetesMirror: KubernetesMirrorSettings?
    /// The folder of link bundles and the settings of the links' mirrors, if any (`links:`).
    public let links: LinksSettings?
    /// Connection limits and timeouts.
    public let limits: GatewayLimits
    /// Event loops (threads); the number of cores when not set.
    public let loops: Int
    /// The I/O backend.
    public let ioBackend: IOBackendSetting
    /// Whether each loop pins itself to a CPU of its own.
    public let cpuAffinity: CPUAffinity
    /// Kernel TLS use.
    public let ktls: KTLSSetting
    /// Static routes to services in other clusters.
    public let routes: [StaticRoute]
    /// The folder where the gateway keeps state that must survive a restart (route ports,
    /// which link holds a mirrored name), if any (`stateDir:`).
    public let stateDir: String?

    /// Creates a config in code; defaults as documented.
    public init(
        cluster: String, trustDomain: String = GatewayDefaults.trustDomain, identity: IdentityFiles,
        inbound: InboundSettings = InboundSettings(), outbound: OutboundSettings = OutboundSettings(),
        admin: AdminSettings = AdminSettings(), registry: String? = nil, links: LinksSettings? = nil,
        limits: GatewayLimits = GatewayLimits(), loops: Int = GatewayDefaults.loops, ioBackend: IOBackendSetting = .auto,
        cpuAffinity: CPUAffinity = .off, ktls: KTLSSetting = .auto, routes: [StaticRoute] = [], stateDir: String? = nil,
        kubernetesRegistry: KubernetesRegistrySettings? = nil, kubernetesMirror: KubernetesMirrorSettings? = nil
    ) {
        self.cluster = cluster
        self.trustDomain = trustDomain
        self.identity = identity
        self.inbound = inbound
        self.outbound = outbound
        self.admin = admin
        self.registry = registry
        self.links = links
        self.limits = limits
        self.loops = loops
        self.ioBackend = ioBackend
        self.cpuAffinity = cpuAffinity
        self.ktls = ktls
        self.routes = routes
        self.stateDir = stateDir
        self.kubernetesRegistry = kubernetesRegistry
        self.kubernetesMirror = kubernetesMirror
    }

    /// The identity this gateway's certificate should carry:
    /// `spiffe://<trustDomain>/ns/meshgate-<cluster>/sa/gateway` (nil for an over-long cluster name).
    public var gatewayIdentity: WorkloadIdentity? {
        WorkloadIdentity.gateway(cluster: cluster, trustDomain: trustDomain)
    }

    /// The route named `namespace/name`, if the config has one.
    public func route(namespace: String, name: String) -> StaticRoute? {
        routes.first { $0.namespace == namespace && $0.name == name }
    }
}
