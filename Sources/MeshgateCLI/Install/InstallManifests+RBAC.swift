extension InstallManifests {
    /// Least privilege for what the gateway reads and writes (docs/kubernetes.md#rbac):
    ///
    /// - ClusterRole (exported services live in any namespace, and a mirrored Service
    ///   `<svc>-<cluster>` is written in the namespace of the service it mirrors):
    ///   Services get/list/watch (the registry's exported Services) and
    ///   create/update/delete (the mirrored Services); EndpointSlices get/list/watch (the
    ///   registry's endpoints); ServiceExports (multicluster.x-k8s.io) get/list/watch (the MCS
    ///   way of exporting).
    /// - Role in the gateway's namespace: Leases (coordination.k8s.io) get/create/update, so
    ///   that one replica at a time writes mirrored Services (the lease is read and written by
    ///   name, never listed or watched).
    var rbac: [ManifestValue] {
        let subject: ManifestValue = .list([
            .object([
                "kind": .string("ServiceAccount"), "name": .string(Names.serviceAccount), "namespace": .string(settings.namespace),
            ])
        ])
        let clusterRole: ManifestValue = .object([
            "apiVersion": .string("rbac.authorization.k8s.io/v1"), "kind": .string("ClusterRole"),
            "metadata": metadata(clusterRoleName, namespaced: false),
            "rules": .list([
                rule("", ["services"], ["get", "list", "watch", "create", "update", "delete"]),
                rule("discovery.k8s.io", ["endpointslices"], ["get", "list", "watch"]),
                rule("multicluster.x-k8s.io", ["serviceexports"], ["get", "list", "watch"]),
            ]),
        ])
        let clusterBinding: ManifestValue = .object([
            "apiVersion": .string("rbac.authorization.k8s.io/v1"), "kind": .string("ClusterRoleBinding"),
            "metadata": metadata(clusterRoleName, namespaced: false),
            "roleRef": roleRef("ClusterRole", clusterRoleName),
            "subjects": subject,
        ])
        let role: ManifestValue = .object([
            "apiVersion": .string("rbac.authorization.k8s.io/v1"), "kind": .string("Role"),
            "metadata": metadata(Names.leaseRole),
            "rules": .list([rule("coordination.k8s.io", ["leases"], ["get", "create", "update"])]),
        ])
        let binding: ManifestValue = .object([
            "apiVersion": .string("rbac.authorization.k8s.io/v1"), "kind": .string("RoleBinding"),
            "metadata": metadata(Names.leaseRole),
            "roleRef": roleRef("Role", Names.leaseRole),
            "subjects": subject,
        ])
        return [clusterRole, clusterBinding, role, binding]
    }

    private func rule(_ group: String, _ resources: [String], _ verbs: [String]) -> ManifestValue {
        .object([
            "apiGroups": .list([.string(group)]),
            "resources": .list(resources.map { .string($0) }),
            "verbs": .list(verbs.map { .string($0) }),
        ])
    }

    private func roleRef(_ kind: String, _ name: String) -> ManifestValue {
        .object(["apiGroup": .string("rbac.authorization.k8s.io"), "kind": .string(kind), "name": .string(name)])
    }
}
