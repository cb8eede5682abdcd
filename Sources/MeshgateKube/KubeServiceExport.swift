/// A multicluster.x-k8s.io/v1alpha1 ServiceExport (MCS API): exports the Service of the same
/// namespace and name. Only its metadata matters.
public struct KubeServiceExport: KubeResource {
    /// multicluster.x-k8s.io/v1alpha1 serviceexports.
    public static let kind = KubeKind(
        group: "multicluster.x-k8s.io", version: "v1alpha1", plural: "serviceexports", kind: "ServiceExport",
        namespaced: true)

    /// The object's metadata.
    public var metadata: KubeObjectMeta

    /// An export of the Service named by `metadata`.
    public init(metadata: KubeObjectMeta) {
        self.metadata = metadata
    }
}
