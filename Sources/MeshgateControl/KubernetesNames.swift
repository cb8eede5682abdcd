/// The Kubernetes labels and annotations meshgate reads and writes, in one place
/// (docs/kubernetes.md, "Mirrored Services").
///
/// A mirrored Service `<svc>-<cluster>` (`MirroredRouteName.of(service:cluster:)`) lives in the
/// remote service's namespace and carries `labels(cluster:)` and
/// `annotations(identity:namespace:service:)`. meshgate owns a Service only when it carries both
/// `mirroredServiceLabel=true` and `managedByLabel=meshgate` (`isOwned`); it never touches any other.
public enum KubernetesNames {
    /// Label on every mirrored Service: `"true"` (Linkerd's name; selects the writer's informer).
    public static let mirroredServiceLabel = "mirror.linkerd.io/mirrored-service"
    /// Label: the linked cluster the Service mirrors.
    public static let clusterNameLabel = "mirror.linkerd.io/cluster-name"
    /// Label: who manages the object; meshgate's own Services say `managedByValue`.
    public static let managedByLabel = "app.kubernetes.io/managed-by"
    /// The value of `managedByLabel` on Services meshgate writes.
    public static let managedByValue = "meshgate"

    /// Annotation: the SPIFFE URI the remote gateway must prove.
    public static let remoteGatewayIdentityAnnotation = "mirror.linkerd.io/remote-gateway-identity"
    /// Annotation: the remote service's fully qualified name, `<svc>.<ns>.svc.cluster.local`.
    public static let remoteServiceFQNameAnnotation = "mirror.linkerd.io/remote-svc-fq-name"
    /// Annotation: the remote service as `<ns>/<svc>`.
    public static let remoteServiceAnnotation = "meshgate.io/remote-service"

    /// The label selector of the mirror writer's informer (owned and Linkerd-style mirrored Services).
    public static let mirroredServiceSelector = "\(mirroredServiceLabel)=true"

    /// The labels of a Service mirroring a service of `cluster`.
    public static func labels(cluster: String) -> [String: String] {
        [mirroredServiceLabel: "true", clusterNameLabel: cluster, managedByLabel: managedByValue]
    }

    /// The annotations of a Service mirroring `namespace/service`, whose gateway proves `identity`
    /// (a SPIFFE URI).
    public static func annotations(identity: String, namespace: String, service: String) -> [String: String] {
        [
            remoteGatewayIdentityAnnotation: identity,
            remoteServiceFQNameAnnotation: "\(service).\(namespace).svc.cluster.local",
            remoteServiceAnnotation: "\(namespace)/\(service)",
        ]
    }

    /// Whether labels mark a Service meshgate owns (and may update or delete).
    public static func isOwned(labels: [String: String]?) -> Bool {
        labels?[mirroredServiceLabel] == "true" && labels?[managedByLabel] == managedByValue
    }

    /// The keys of the labels and annotations meshgate writes; others on an owned Service are kept.
    public static let ownedLabelKeys: Set<String> = [mirroredServiceLabel, clusterNameLabel, managedByLabel]
    /// See `ownedLabelKeys`.
    public static let ownedAnnotationKeys: Set<String> = [
        remoteGatewayIdentityAnnotation, remoteServiceFQNameAnnotation, remoteServiceAnnotation,
    ]
}
