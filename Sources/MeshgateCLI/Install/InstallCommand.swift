import ArgumentParser
import MeshgateControl
import MeshgateNames

/// `meshgate install`: prints the Kubernetes manifests of one cluster's gateway (like
/// `linkerd multicluster install`); docs/kubernetes.md.
struct InstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Print the Kubernetes manifests of one cluster's gateway (pipe them to `kubectl apply -f -`).",
        discussion: """
            Namespace, ServiceAccount, RBAC, ConfigMap (gateway.yaml), Deployment, the gateway \
            Service (4143), the admin Service (4191), a PodDisruptionBudget and, with \
            --cert-manager, a cert-manager Certificate for the identity Secret. See docs/kubernetes.md.
            """
    )

    @Option(help: "This cluster's name (a DNS label); the gateway identity is spiffe://<trust-domain>/ns/meshgate-<cluster>/sa/gateway.")
    var cluster: String

    @Option(help: "The trust domain all clusters share.")
    var trustDomain: String = GatewayDefaults.trustDomain

    @Option(help: "The namespace the gateway runs in.")
    var namespace: String = "meshgate-multicluster"

    @Option(help: "The gateway image.")
    var image: String = "meshgate:\(MeshgateVersion.current)"

    @Option(help: "Gateway pods (at least 1).")
    var replicas: Int = 2

    @Option(help: "The type of the 4143 Service: LoadBalancer, NodePort or ClusterIP.")
    var serviceType: InstallSettings.ServiceType = .LoadBalancer

    @Option(
        help: ArgumentHelp("An annotation of the 4143 Service (cloud load balancer settings); repeat for several.", valueName: "key=value"))
    var serviceAnnotation: [String] = []

    @Option(help: ArgumentHelp("A CIDR allowed to reach the load balancer; repeat for several (LoadBalancer only).", valueName: "cidr"))
    var loadBalancerSourceRange: [String] = []

    @Option(
        help:
            "The 4143 Service's externalTrafficPolicy: Local (keeps the client address, no second hop) or Cluster (LoadBalancer and NodePort only)."
    )
    var externalTrafficPolicy: InstallSettings.TrafficPolicy?

    @Option(help: ArgumentHelp("A node label the gateway pods must match; repeat for several.", valueName: "key=value"))
    var nodeSelector: [String] = []

    @Option(help: ArgumentHelp("A taint the gateway pods tolerate, KEY[=VALUE][:EFFECT]; repeat for several.", valueName: "spec"))
    var toleration: [String] = []

    @Option(help: "The Secret holding tls.crt, tls.key and ca.crt (with --cert-manager: the Certificate's Secret).")
    var identitySecret: String = "gateway-identity"

    @Flag(help: "Let the gateway use io_uring: the runtime's default seccomp profile blocks it (the gateway then runs on epoll).")
    var ioUring = false

    @Option(
        help: ArgumentHelp(
            "With --io-uring: a seccomp profile installed on every node (relative to the kubelet's seccomp folder) that allows io_uring; without it, --io-uring runs the pod Unconfined.",
            valueName: "path"))
    var seccompProfile: String?

    @Option(
        help: ArgumentHelp("Let cert-manager issue the identity: NAME (an Issuer), Issuer/NAME or ClusterIssuer/NAME.", valueName: "issuer")
    )
    var certManager: String?

    @Option(help: "yaml (documents separated by ---) or json (a v1 List).")
    var output: InstallSettings.Output = .yaml

    func run() throws {
        let settings = try self.settings()
        if case .unconfined = settings.seccomp {
            FileHandleStandardError.write(
                "meshgate: warning: --io-uring without --seccomp-profile runs the gateway pod Unconfined (no syscall filter at all); prefer a node-installed profile that allows io_uring (docs/kubernetes.md#seccomp-and-io_uring)\n"
            )
        }
        print(try InstallRenderer(settings: settings).render(), terminator: "")
    }

    /// The flags, checked: each bad value is a `ValidationError` naming its flag.
    func settings() throws -> InstallSettings {
        func check<T>(_ flag: String, _ text: String, _ body: (String) throws(InvalidValue) -> T) throws -> T {
            do { return try body(text) } catch { throw ValidationError("\(flag) '\(text)': \(error.message)") }
        }
        guard DNSName.isLabel(cluster), WorkloadIdentity.gateway(cluster: cluster, trustDomain: "x") != nil else {
            throw ValidationError(
                "--cluster '\(cluster)': not a DNS label of at most 54 characters (lowercase letters, digits, '-'), as meshgate-<cluster> must be a namespace"
            )
        }
        var s = InstallSettings(cluster: cluster)
        guard DNSName.isName(trustDomain) else { throw ValidationError("--trust-domain '\(trustDomain)': not a DNS name") }
        guard WorkloadIdentity.gateway(cluster: cluster, trustDomain: trustDomain) != nil else {
            throw ValidationError("--trust-domain '\(trustDomain)': does not make a gateway identity with cluster \(cluster)")
        }
        s.trustDomain = trustDomain
        guard DNSName.isLabel(namespace) else {
            throw ValidationError("--namespace '\(namespace)': not a DNS label (lowercase letters, digits, '-', at most 63)")
        }
        s.namespace = namespace
        guard !image.isEmpty, !image.contains(where: { $0.isWhitespace }) else {
            throw ValidationError("--image '\(image)': not an image reference (no spaces, not empty)")
        }
        s.image = image
        guard (1...100).contains(replicas) else { throw ValidationError("--replicas \(replicas): must be 1-100") }
        s.replicas = replicas
        s.serviceType = serviceType
        /// `K=V` values of a repeatable flag, checked, each key at most once.
        func pairs(_ flag: String, _ texts: [String], valueIsLabel: Bool) throws -> [(String, String)] {
            var out: [(String, String)] = []
            for text in texts {
                let pair = try check(flag, text) { t throws(InvalidValue) in try LabelSyntax.pair(t, valueIsLabel: valueIsLabel) }
                guard !out.contains(where: { $0.0 == pair.0 }) else {
                    throw ValidationError("\(flag) '\(text)': key \(pair.0) given twice")
                }
                out.append(pair)
            }
            return out
        }
        s.serviceAnnotations += try pairs("--service-annotation", serviceAnnotation, valueIsLabel: false)
        for text in loadBalancerSourceRange {
            guard serviceType == .LoadBalancer else {
                throw ValidationError(
                    "--load-balancer-source-range '\(text)': only a LoadBalancer Service has source ranges (--service-type is \(serviceType.rawValue))"
                )
            }
            s.loadBalancerSourceRanges.append(try check("--load-balancer-source-range", text, CIDRBlock.check))
        }
        if let policy = externalTrafficPolicy {
            guard serviceType != .ClusterIP else {
                throw ValidationError(
                    "--external-traffic-policy \(policy.rawValue): a ClusterIP Service has no external traffic (use LoadBalancer or NodePort)"
                )
            }
            s.externalTrafficPolicy = policy
        }
        s.nodeSelector += try pairs("--node-selector", nodeSelector, valueIsLabel: true)
        s.tolerations = try toleration.map { try check("--toleration", $0, Toleration.parse) }
        guard DNSName.isName(identitySecret) else {
            throw ValidationError(
                "--identity-secret '\(identitySecret)': not a Kubernetes object name (lowercase letters, digits, '-' and '.')")
        }
        s.identitySecret = identitySecret
        if let profile = seccompProfile {
            guard ioUring else {
                throw ValidationError("--seccomp-profile '\(profile)': only with --io-uring (without it the pod keeps RuntimeDefault)")
            }
            guard !profile.isEmpty, !profile.hasPrefix("/"), !profile.split(separator: "/").contains("..") else {
                throw ValidationError("--seccomp-profile '\(profile)': a path relative to the kubelet's seccomp folder, without '..'")
            }
            s.seccomp = .localhost(profile)
        } else if ioUring {
            s.seccomp = .unconfined
        }
        if let issuer = certManager {
            s.certManagerIssuer = try check("--cert-manager", issuer, IssuerReference.parse)
        }
        s.output = output
        return s
    }
}
