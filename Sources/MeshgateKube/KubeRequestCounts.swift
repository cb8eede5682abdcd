/// How many requests a ``KubeClient`` sent, by verb (whatever their outcome).
public struct KubeRequestCounts: Hashable, Sendable {
    /// Lists.
    public var list = 0
    /// Watches started.
    public var watch = 0
    /// Gets (including `version()`).
    public var get = 0
    /// Creates (POST).
    public var create = 0
    /// Updates (PUT).
    public var update = 0
    /// Deletes.
    public var delete = 0

    /// An all-zero count.
    public init() {}

    /// Creates + updates + deletes.
    public var writes: Int { create + update + delete }
}

/// A request verb, for counting.
enum KubeVerb: String, Sendable {
    case list, watch, get, create, update, delete

    func bump(_ counts: inout KubeRequestCounts) {
        switch self {
        case .list: counts.list += 1
        case .watch: counts.watch += 1
        case .get: counts.get += 1
        case .create: counts.create += 1
        case .update: counts.update += 1
        case .delete: counts.delete += 1
        }
    }
}
