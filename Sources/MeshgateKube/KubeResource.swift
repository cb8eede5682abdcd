/// A Kubernetes object type the client can list, watch, get and write.
///
/// Conformers are plain `Codable` structs; `apiVersion` and `kind` are not stored: the client
/// adds them from ``kind`` when it encodes an object.
public protocol KubeResource: Codable, Hashable, Sendable {
    /// Where the type lives in the API.
    static var kind: KubeKind { get }
    /// The object's metadata.
    var metadata: KubeObjectMeta { get set }
}

/// Encodes an object with its `apiVersion` and `kind`, as the API server expects in a body.
struct KubeEnvelope<T: KubeResource>: Encodable {
    let object: T

    private enum Keys: String, CodingKey { case apiVersion, kind }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(T.kind.apiVersion, forKey: .apiVersion)
        try c.encode(T.kind.kind, forKey: .kind)
        try object.encode(to: encoder)
    }
}

/// A list of objects and the resourceVersion to watch from.
public struct KubeList<T: KubeResource>: Sendable {
    /// The objects.
    public var items: [T]
    /// The list's resourceVersion: watch from here to see every later change.
    public var resourceVersion: String

    /// A list from its parts.
    public init(items: [T], resourceVersion: String) {
        self.items = items
        self.resourceVersion = resourceVersion
    }
}

/// One event of a watch.
public enum KubeWatchEvent<T: KubeResource>: Sendable {
    /// An object appeared (or started to match the selector).
    case added(T)
    /// An object changed.
    case modified(T)
    /// An object went away (or stopped matching); carries its last state.
    case deleted(T)
    /// Nothing changed up to `resourceVersion`: a watch restarted there misses nothing.
    case bookmark(resourceVersion: String)

    /// The resourceVersion this event moves a watch to.
    public var resourceVersion: String? {
        switch self {
        case .added(let o), .modified(let o), .deleted(let o): return o.metadata.resourceVersion
        case .bookmark(let rv): return rv
        }
    }
}
