/// The manifests of one cluster's gateway (`meshgate install`), in the order `kubectl apply`
/// should meet them: Namespace, ServiceAccount, RBAC, ConfigMap, (Certificate), Deployment,
/// Services, PodDisruptionBudget.
struct InstallManifests {
    let settings: InstallSettings

    /// Names of the objects in the gateway's namespace (the ClusterRole's name carries the
    /// namespace, so two installs in one cluster never share one).
    enum Names {
        static let serviceAccount = "gateway"
        static let deployment = "gateway"
        static let service = "gateway"
        static let adminService = "gateway-admin"
        static let config = "gateway-config"
        static let links = "gateway-links"
        static let trust = "gateway-trust"
        static let disruptionBudget = "gateway"
        static let leaseRole = "gateway-leases"
    }

    /// Where the pod mounts things (gateway.yaml names them).
    enum Paths {
        static let configDir = "/etc/meshgate"
        static let config = "/etc/meshgate/gateway.yaml"
        static let identityDir = "/var/run/secrets/meshgate"
        static let linksDir = "/var/lib/meshgate/links"
        static let stateDir = "/var/lib/meshgate/state"
    }

    static let inboundPort = 4143
    static let adminPort = 4191

    var clusterRoleName: String { "meshgate-\(settings.namespace)-gateway" }

    /// The labels every object carries.
    var labels: [(String, String)] {
        [
            ("app.kubernetes.io/name", "meshgate"),
            ("app.kubernetes.io/component", "gateway"),
            ("app.kubernetes.io/instance", settings.cluster),
            ("app.kubernetes.io/version", MeshgateVersion.current),
            ("app.kubernetes.io/part-of", "meshgate"),
        ]
    }

    /// What selects the gateway pods (stable across versions).
    var selectorLabels: [(String, String)] {
        [
            ("app.kubernetes.io/name", "meshgate"), ("app.kubernetes.io/component", "gateway"),
            ("app.kubernetes.io/instance", settings.cluster),
        ]
    }

    func metadata(_ name: String, namespaced: Bool = true, annotations: [(String, String)] = []) -> ManifestValue {
        .object([
            "name": .string(name),
            "namespace": namespaced ? .string(settings.namespace) : nil,
            "labels": .strings(labels),
            "annotations": annotations.isEmpty ? nil : .strings(annotations),
        ])
    }

    /// Every object, in apply order.
    var resources: [ManifestValue] {
        var all: [ManifestValue] = [namespace, serviceAccount]
        all += rbac
        all.append(configMap)
        if let certificate { all.append(certificate) }
        all += [deployment, gatewayService, adminService, disruptionBudget]
        return all
    }

    var namespace: ManifestValue {
        .object(["apiVersion": .string("v1"), "kind": .string("Namespace"), "metadata": metadata(settings.namespace, namespaced: false)])
    }

    var serviceAccount: ManifestValue {
        .object([
            "apiVersion": .string("v1"), "kind": .string("ServiceAccount"), "metadata": metadata(Names.serviceAccount),
            // The Kubernetes registry and the mirror's Services use the API with this account's token.
            "automountServiceAccountToken": .bool(true),
        ])
    }
}
