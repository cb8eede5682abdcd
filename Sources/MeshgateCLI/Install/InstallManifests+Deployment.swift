extension InstallManifests {
    var deployment: ManifestValue {
        .object([
            "apiVersion": .string("apps/v1"), "kind": .string("Deployment"), "metadata": metadata(Names.deployment),
            "spec": .object([
                "replicas": .int(settings.replicas),
                "selector": .object(["matchLabels": .strings(selectorLabels)]),
                // One new pod before an old one goes: the gateway port never loses a replica.
                "strategy": .object([
                    "type": .string("RollingUpdate"),
                    "rollingUpdate": .object(["maxSurge": .int(1), "maxUnavailable": .int(0)]),
                ]),
                "template": .object([
                    "metadata": .object([
                        "labels": .strings(labels),
                        "annotations": .strings([("meshgate.io/seccomp", seccompNote)]),
                    ]),
                    "spec": podSpec,
                ]),
            ]),
        ])
    }

    /// Why the pod has the seccomp profile it has (an annotation on the pod, and the YAML header).
    var seccompNote: String {
        switch settings.seccomp {
        case .runtimeDefault:
            return "RuntimeDefault: the runtime's default profile blocks io_uring, so the gateway runs on epoll (it logs why at start)"
        case .localhost(let path):
            return "Localhost \(path): a node-installed profile that allows io_uring_setup, io_uring_enter and io_uring_register"
        case .unconfined:
            return "Unconfined: no seccomp filter, so that io_uring works; the container loses the syscall filter"
        }
    }

    private var seccompProfile: ManifestValue {
        switch settings.seccomp {
        case .runtimeDefault: return .object(["type": .string("RuntimeDefault")])
        case .localhost(let path): return .object(["type": .string("Localhost"), "localhostProfile": .string(path)])
        case .unconfined: return .object(["type": .string("Unconfined")])
        }
    }

    private var podSpec: ManifestValue {
        .object([
            "serviceAccountName": .string(Names.serviceAccount),
            // Above limits.drainTimeout: SIGTERM drains, the kubelet's SIGKILL comes later.
            "terminationGracePeriodSeconds": .int(settings.terminationGracePeriodSeconds),
            "securityContext": .object([
                "runAsNonRoot": .bool(true),
                "runAsUser": .int(65532),
                "runAsGroup": .int(65532),
                "fsGroup": .int(65532),
                "seccompProfile": seccompProfile,
            ]),
            "affinity": .object([
                "podAntiAffinity": .object([
                    "preferredDuringSchedulingIgnoredDuringExecution": .list([
                        .object([
                            "weight": .int(100),
                            "podAffinityTerm": .object([
                                "labelSelector": .object(["matchLabels": .strings(selectorLabels)]),
                                "topologyKey": .string("kubernetes.io/hostname"),
                            ]),
                        ])
                    ])
                ])
            ]),
            "nodeSelector": settings.nodeSelector.isEmpty ? nil : .strings(settings.nodeSelector),
            "tolerations": settings.tolerations.isEmpty ? nil : .list(settings.tolerations.map(\.manifest)),
            "containers": .list([container]),
            "volumes": .list(volumes),
        ])
    }

    private var container: ManifestValue {
        .object([
            "name": .string("gateway"),
            "image": .string(settings.image),
            "imagePullPolicy": .string("IfNotPresent"),
            "args": .list(["gateway", "--config", Paths.config].map { .string($0) }),
            // The mirror's lease: its holder name and namespace (mirror.kubernetes defaults).
            "env": .list([fieldEnv("POD_NAME", "metadata.name"), fieldEnv("POD_NAMESPACE", "metadata.namespace")]),
            "ports": .list([
                .object(["name": .string("mtls"), "containerPort": .int(Self.inboundPort), "protocol": .string("TCP")]),
                .object(["name": .string("admin-http"), "containerPort": .int(Self.adminPort), "protocol": .string("TCP")]),
            ]),
            "startupProbe": probe("/live", period: 2, failures: 30),
            "readinessProbe": probe("/ready", period: 5, failures: 2),
            "livenessProbe": probe("/live", period: 10, failures: 3),
            // A memory limit and no CPU limit: CFS throttling of a proxy shows up as latency.
            "resources": .object([
                "requests": .strings([("cpu", "100m"), ("memory", "64Mi")]),
                "limits": .strings([("memory", "512Mi")]),
            ]),
            "securityContext": .object([
                "runAsNonRoot": .bool(true),
                "runAsUser": .int(65532),
                "runAsGroup": .int(65532),
                "readOnlyRootFilesystem": .bool(true),
                "allowPrivilegeEscalation": .bool(false),
                "capabilities": .object(["drop": .list([.string("ALL")])]),
            ]),
            "volumeMounts": .list([
                mount("config", Paths.configDir, readOnly: true),
                mount("identity", Paths.identityDir, readOnly: true),
                mount("links", Paths.linksDir, readOnly: true),
                mount("state", Paths.stateDir, readOnly: false),
                mount("tmp", "/tmp", readOnly: false),
            ]),
        ])
    }

    private func probe(_ path: String, period: Int, failures: Int) -> ManifestValue {
        .object([
            "httpGet": .object(["path": .string(path), "port": .string("admin-http")]),
            "periodSeconds": .int(period),
            "timeoutSeconds": .int(1),
            "failureThreshold": .int(failures),
        ])
    }

    private func fieldEnv(_ name: String, _ path: String) -> ManifestValue {
        .object([
            "name": .string(name),
            "valueFrom": .object(["fieldRef": .object(["apiVersion": .string("v1"), "fieldPath": .string(path)])]),
        ])
    }

    private func mount(_ name: String, _ path: String, readOnly: Bool) -> ManifestValue {
        .object(["name": .string(name), "mountPath": .string(path), "readOnly": .bool(readOnly)])
    }

    /// The identity is the Secret's tls.crt, tls.key and ca.crt; with cert-manager, tls.crt
    /// and tls.key come from the Certificate's Secret and ca.crt (the trust anchors, never the
    /// issuer that cert-manager would put there) from the ConfigMap `gateway-trust`.
    private var identityVolume: ManifestValue {
        let items: ManifestValue = .list(["tls.crt", "tls.key"].map { .object(["key": .string($0), "path": .string($0)]) })
        guard settings.certManagerIssuer != nil else {
            return .object([
                "name": .string("identity"),
                "secret": .object(["secretName": .string(settings.identitySecret), "defaultMode": .int(0o440)]),
            ])
        }
        return .object([
            "name": .string("identity"),
            "projected": .object([
                "defaultMode": .int(0o440),
                "sources": .list([
                    .object(["secret": .object(["name": .string(settings.identitySecret), "items": items])]),
                    .object([
                        "configMap": .object([
                            "name": .string(Names.trust),
                            "items": .list([.object(["key": .string("ca.crt"), "path": .string("ca.crt")])]),
                        ])
                    ]),
                ]),
            ]),
        ])
    }

    private var volumes: [ManifestValue] {
        [
            .object(["name": .string("config"), "configMap": .object(["name": .string(Names.config)])]),
            identityVolume,
            // Other clusters' link bundles (`kubectl create configmap gateway-links --from-file=…`);
            // optional, so that the gateway starts before the first link.
            .object(["name": .string("links"), "configMap": .object(["name": .string(Names.links), "optional": .bool(true)])]),
            // State that must survive a container restart (not a rescheduling).
            .object(["name": .string("state"), "emptyDir": .object([:])]),
            .object(["name": .string("tmp"), "emptyDir": .object(["medium": .string("Memory"), "sizeLimit": .string("16Mi")])]),
        ]
    }
}
