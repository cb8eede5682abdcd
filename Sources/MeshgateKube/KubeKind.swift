/// Where a resource lives in the Kubernetes API: its group, version and plural name.
///
/// `group` is "" for the core group (`/api/v1`); other groups are served under `/apis/<group>/<version>`.
public struct KubeKind: Hashable, Sendable {
    /// The API group ("" = core).
    public var group: String
    /// The API version ("v1", "v1alpha1").
    public var version: String
    /// The plural resource name used in URLs ("services").
    public var plural: String
    /// The object kind written into `kind` ("Service").
    public var kind: String
    /// Whether objects of this kind live in a namespace.
    public var namespaced: Bool

    /// A kind from its parts.
    public init(group: String, version: String, plural: String, kind: String, namespaced: Bool) {
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
    }

    /// `apiVersion` as written in objects: "v1" or "group/version".
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
}
