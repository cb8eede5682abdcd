/// The `metadata` of a Kubernetes object: the fields meshgate reads and writes.
///
/// Unknown fields are ignored when decoding; `nil` fields are omitted when encoding.
public struct KubeObjectMeta: Codable, Hashable, Sendable {
    /// The object's name, unique in its namespace.
    public var name: String
    /// The namespace (`nil` for cluster-scoped objects).
    public var namespace: String?
    /// The server-assigned unique id.
    public var uid: String?
    /// The version the server gave this state of the object (for compare-and-swap writes).
    public var resourceVersion: String?
    /// Labels (selected by label selectors).
    public var labels: [String: String]?
    /// Annotations (free-form).
    public var annotations: [String: String]?
    /// RFC 3339 time of creation, set by the server.
    public var creationTimestamp: String?
    /// RFC 3339 time a graceful deletion was requested.
    public var deletionTimestamp: String?
    /// A prefix from which the server generates `name` on create.
    public var generateName: String?

    /// Metadata for an object to create or replace.
    public init(
        name: String, namespace: String? = nil, labels: [String: String]? = nil,
        annotations: [String: String]? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }

    private enum CodingKeys: String, CodingKey {
        case name, namespace, uid, resourceVersion, labels, annotations, creationTimestamp, deletionTimestamp,
            generateName
    }

    /// Decodes metadata; a missing `name` decodes as "" (bookmarks and some Status details carry none).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
        uid = try c.decodeIfPresent(String.self, forKey: .uid)
        resourceVersion = try c.decodeIfPresent(String.self, forKey: .resourceVersion)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels)
        annotations = try c.decodeIfPresent([String: String].self, forKey: .annotations)
        creationTimestamp = try c.decodeIfPresent(String.self, forKey: .creationTimestamp)
        deletionTimestamp = try c.decodeIfPresent(String.self, forKey: .deletionTimestamp)
        generateName = try c.decodeIfPresent(String.self, forKey: .generateName)
    }

    /// The informer cache key: "namespace/name", or "name" for cluster-scoped objects.
    public var key: String {
        if let namespace, !namespace.isEmpty { return "\(namespace)/\(name)" }
        return name
    }
}
