import Foundation

/// A mirrored Service meshgate refused to write: a Service of that name exists and is not
/// meshgate's (it lacks the labels of `KubernetesNames.isOwned`). It is never touched.
public struct MirrorServiceConflict: Codable, Hashable, Sendable {
    /// The Service's namespace and name.
    public var namespace: String
    public var name: String
    /// Why it is refused, in words.
    public var reason: String

    public init(namespace: String, name: String, reason: String) {
        self.namespace = namespace
        self.name = name
        self.reason = reason
    }

    /// `namespace/name`.
    public var key: String { "\(namespace)/\(name)" }
}

/// The Kubernetes mirror writer (`mirror.kubernetes.services: true`) as `/status` shows it
/// (`GatewayStatus.mirrorServices`; docs/operations.md).
public struct MirrorServicesStatus: Codable, Equatable, Sendable {
    /// This replica holds the Lease and writes.
    public var leader: Bool
    /// The Lease's holder as last seen (nil: none or not read yet).
    public var holder: String?
    /// Leadership changes this replica has seen.
    public var leaseTransitions: Int
    /// Services the mirrored routes call for now.
    public var desired: Int
    /// Services meshgate owns, as the API server shows them.
    public var written: Int
    /// Writes made by this replica, by operation (`create`, `update`, `delete`).
    public var writes: [String: Int]
    /// Services refused because a Service of that name is not meshgate's.
    public var conflicts: [MirrorServiceConflict]
    /// The last failed API call (nil: none since the last success).
    public var lastError: String?
    /// Writes the last reconciliation still has to make (0 when converged).
    public var pending: Int

    public init(
        leader: Bool, holder: String?, leaseTransitions: Int, desired: Int, written: Int, writes: [String: Int],
        conflicts: [MirrorServiceConflict], lastError: String?, pending: Int
    ) {
        self.leader = leader
        self.holder = holder
        self.leaseTransitions = leaseTransitions
        self.desired = desired
        self.written = written
        self.writes = writes
        self.conflicts = conflicts
        self.lastError = lastError
        self.pending = pending
    }
}
