import MeshgateKube

/// What the writer must do to one Service.
public enum MirroredServiceAction: Hashable, Sendable {
    /// Create the Service (it does not exist).
    case create(KubeService)
    /// Replace an owned Service: the observed object with meshgate's spec fields, labels and
    /// annotations; its `resourceVersion` (compare-and-swap), `clusterIP` and foreign labels kept.
    case update(KubeService)
    /// Delete an owned Service (`uid` as the precondition); `reason` says why.
    case delete(namespace: String, name: String, uid: String?, reason: String)
    /// A Service of the desired name exists and is not meshgate's: left alone.
    case conflict(MirrorServiceConflict)

    /// `namespace/name` of the Service the action is about.
    public var key: String {
        switch self {
        case .create(let s), .update(let s): "\(s.metadata.namespace ?? "")/\(s.metadata.name)"
        case .delete(let namespace, let name, _, _): "\(namespace)/\(name)"
        case .conflict(let c): c.key
        }
    }

    /// Whether the action writes to the API server.
    public var isWrite: Bool {
        if case .conflict = self { return false }
        return true
    }
}

/// The links as the writer must know them before deleting: which clusters are linked and
/// which of those have had a whole snapshot.
public struct MirroredServiceLinks: Hashable, Sendable {
    /// The links folder has been read (before that, no cluster counts as unlinked).
    public var known: Bool
    /// Linked clusters, each with whether its mirror is synced.
    public var synced: [String: Bool]

    public init(known: Bool, synced: [String: Bool]) {
        self.known = known
        self.synced = synced
    }
}

/// Desired against observed Services: the writes that make the API server match the plan, and
/// the conflicts (docs/kubernetes.md, "Mirrored Services").
///
/// - A desired Service that does not exist is created; an owned one is updated only when the
///   spec, labels or annotations meshgate owns differ (equal objects are never rewritten).
/// - An owned Service that is not desired (and not waiting for a listener) is deleted when its
///   cluster is linked and synced (the service was withdrawn) or, once the links are known,
///   when its cluster is not linked (`link remove`, or an orphan found at start). An owned
///   Service of a linked cluster whose mirror has not synced yet is kept.
/// - A Service of a desired name that is not owned (observed, or in `foreign`) is a conflict,
///   never written.
public enum MirroredServiceReconciler {
    /// The actions, deletes first, then creates and updates, then conflicts, each in key order.
    /// `observed` holds the Services seen by `namespace/name` (owned ones and any foreign one of
    /// a desired name); `foreign` the names known to be taken by a Service not meshgate's, with why.
    public static func reconcile(
        plan: MirroredServicePlan, observed: [String: KubeService], foreign: [String: String], links: MirroredServiceLinks
    ) -> [MirroredServiceAction] {
        var deletes: [MirroredServiceAction] = []
        var writes: [MirroredServiceAction] = []
        var conflicts: [MirroredServiceAction] = []
        for key in observed.keys.sorted() {
            let service = observed[key]!
            guard KubernetesNames.isOwned(labels: service.metadata.labels), plan.services[key] == nil,
                !plan.waiting.contains(key), service.metadata.deletionTimestamp == nil
            else { continue }
            let cluster = service.metadata.labels?[KubernetesNames.clusterNameLabel] ?? ""
            let reason: String
            if let synced = links.synced[cluster] {
                guard synced else { continue }
                reason = "withdrawn by cluster \(cluster)"
            } else {
                guard links.known else { continue }
                reason = "cluster \(cluster) is not linked"
            }
            deletes.append(
                .delete(namespace: service.metadata.namespace ?? "", name: service.metadata.name, uid: service.metadata.uid, reason: reason)
            )
        }
        for key in plan.services.keys.sorted() {
            let desired = plan.services[key]!
            let namespace = desired.metadata.namespace ?? ""
            if let existing = observed[key] {
                if !KubernetesNames.isOwned(labels: existing.metadata.labels) {
                    conflicts.append(
                        .conflict(
                            MirrorServiceConflict(
                                namespace: namespace, name: desired.metadata.name,
                                reason: foreign[key] ?? notOwnedReason(existing))))
                } else if existing.metadata.deletionTimestamp == nil, let merged = merged(observed: existing, desired: desired) {
                    writes.append(.update(merged))
                }
            } else if let why = foreign[key] {
                conflicts.append(.conflict(MirrorServiceConflict(namespace: namespace, name: desired.metadata.name, reason: why)))
            } else {
                writes.append(.create(desired))
            }
        }
        return deletes + writes + conflicts
    }

    /// Why an existing Service is not meshgate's.
    public static func notOwnedReason(_ service: KubeService) -> String {
        let by = service.metadata.labels?[KubernetesNames.managedByLabel].map { "managed by \($0)" } ?? "not labelled as meshgate's"
        return
            "a Service of that name exists and is \(by) (\(KubernetesNames.managedByLabel)=\(KubernetesNames.managedByValue) missing); left alone"
    }

    /// The observed Service rewritten to the desired one in what meshgate owns, or nil when that
    /// is already equal: `type`, `selector`, `ports`, and the `KubernetesNames` labels and
    /// annotations. Everything else (clusterIP, resourceVersion, other labels and annotations) is kept.
    public static func merged(observed: KubeService, desired: KubeService) -> KubeService? {
        var out = observed
        out.spec.type = desired.spec.type
        out.spec.selector = desired.spec.selector
        out.spec.ports = desired.spec.ports
        var labels = observed.metadata.labels ?? [:]
        for k in KubernetesNames.ownedLabelKeys { labels[k] = desired.metadata.labels?[k] }
        out.metadata.labels = labels
        var annotations = observed.metadata.annotations ?? [:]
        for k in KubernetesNames.ownedAnnotationKeys { annotations[k] = desired.metadata.annotations?[k] }
        out.metadata.annotations = annotations.isEmpty ? observed.metadata.annotations : annotations
        let same =
            normalizedType(observed.spec.type) == normalizedType(out.spec.type)
            && (observed.spec.selector ?? [:]) == (out.spec.selector ?? [:])
            && normalized(observed.spec.ports) == normalized(out.spec.ports) && (observed.metadata.labels ?? [:]) == labels
            && (observed.metadata.annotations ?? [:]) == (out.metadata.annotations ?? [:])
        return same ? nil : out
    }

    /// The API server's defaults applied, for comparing: type ClusterIP, protocol TCP, targetPort = port.
    static func normalizedType(_ type: String?) -> String { type ?? "ClusterIP" }

    static func normalized(_ ports: [KubeService.Port]?) -> [KubeService.Port] {
        (ports ?? []).map { p in
            var p = p
            if p.protocol == nil { p.protocol = "TCP" }
            if p.targetPort == nil { p.targetPort = .int(p.port) }
            if p.name == "" { p.name = nil }
            return p
        }
    }
}
