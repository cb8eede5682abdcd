import MeshgateNames
import MeshgateProxy
import MeshgateWire

/// The serving half of one discover stream, without I/O: route-table snapshots in, frames out
/// (docs/wire.md, "The discover stream").
///
/// The stream opens with a snapshot of the services this gateway exports to the asking peer
/// (exported, and allowed for its identity), then carries the changes as the registry is
/// reloaded, and keepalives while nothing changes. A mirror that asked for port names
/// (`DiscoverOptions.portNames`) gets `upsertNamed` frames, every other one plain `upsert`s.
public struct DiscoverServerSession: Sendable {
    /// The verified identity of the asking peer (what it may see).
    public let peer: WorkloadIdentity?
    /// The peer asked for port names.
    public let named: Bool
    /// The generation of the last snapshot the frames describe.
    public private(set) var generation: UInt64
    /// What the peer has been sent, by `namespace/name`.
    public private(set) var sent: [String: DiscoveredService]

    /// A session for `peer` that asked with `options`; `opening(generation:services:)` gives its first frames.
    public init(peer: WorkloadIdentity?, options: DiscoverOptions) {
        self.peer = peer
        named = options.contains(.portNames)
        generation = 0
        sent = [:]
    }

    /// The whole of snapshot `generation` (its `services`) the peer may see: `snapshotBegin`,
    /// one upsert per service by key, `snapshotEnd`.
    public mutating func opening(generation: UInt64, services: some Sequence<ExportedService>) -> [UInt8] {
        self.generation = generation
        sent = Self.visible(services, to: peer, named: named)
        var frames = Self.frame(.snapshotBegin(generation: generation))
        for key in sent.keys.sorted() { frames += upsert(sent[key]!) }
        frames += Self.frame(.snapshotEnd(generation: generation))
        return frames
    }

    /// What goes out after a wait that ended with snapshot `generation` (its `services`)
    /// current: when it is newer, the changes the peer sees (removes, then upserts, each by
    /// key); a keepalive when there are none and either the snapshot changed or
    /// `keepaliveDue`; nil when nothing is due.
    public mutating func frames(
        generation: UInt64, services: some Sequence<ExportedService>, keepaliveDue: Bool
    ) -> [UInt8]? {
        guard generation != self.generation || keepaliveDue else { return nil }
        var frames: [UInt8] = []
        if generation != self.generation {
            self.generation = generation
            let now = Self.visible(services, to: peer, named: named)
            for key in sent.keys.sorted() where now[key] == nil {
                let s = sent[key]!
                frames += Self.frame(.remove(namespace: s.namespace, name: s.name))
            }
            for key in now.keys.sorted() where now[key] != sent[key] { frames += upsert(now[key]!) }
            sent = now
        }
        if frames.isEmpty { frames = Self.frame(.keepalive) }
        return frames
    }

    /// What input from the peer means: a mirror sends nothing after its header, so an empty
    /// read is its clean close and any byte is junk, answered with a reset.
    public enum PeerInput: Equatable, Sendable {
        /// The peer closed its end cleanly: close ours.
        case closed
        /// The peer sent bytes: reset the stream.
        case junk
    }

    /// What `bytes` read from the peer mean.
    public static func input(_ bytes: [UInt8]) -> PeerInput { bytes.isEmpty ? .closed : .junk }

    /// The services of `snapshot` that `peer` may see (`visible(_:to:named:)` of its services).
    public static func visible(_ snapshot: GatewaySnapshot, to peer: WorkloadIdentity?, named: Bool = false) -> [String: DiscoveredService] {
        visible(snapshot.services.values, to: peer, named: named)
    }

    /// The services `peer` may see, as discovery describes them, by `namespace/name`; with
    /// `named`, with their ports' names (else every name is ""). A name that is not a `PortName`
    /// (a Kubernetes Service port may carry a longer DNS label) or that an earlier port of the
    /// service already has is sent as "" (unnamed).
    public static func visible(
        _ services: some Sequence<ExportedService>, to peer: WorkloadIdentity?, named: Bool = false
    ) -> [String: DiscoveredService] {
        var out: [String: DiscoveredService] = [:]
        for s in services where s.exported && s.allows(peer) {
            let ports = Array(s.endpoints.keys.sorted().prefix(DiscoveryMessage.maxPortsPerService))
            var names: [String] = []
            if named {
                var used = Set<String>()
                for port in ports {
                    let name = s.portNames[port] ?? ""
                    names.append(!name.isEmpty && PortName.isValid(name) && used.insert(name).inserted ? name : "")
                }
            }
            out[s.key] = DiscoveredService(namespace: s.namespace, name: s.name, ports: ports, portNames: names)
        }
        return out
    }

    /// `s` as the peer asked for it. `visible` keeps only valid names; should a service still
    /// not encode with names, it goes out without them rather than not at all.
    private func upsert(_ s: DiscoveredService) -> [UInt8] {
        if named, let bytes = try? DiscoveryMessage.upsertNamed(s).encoded() { return bytes }
        return Self.frame(.upsert(s))
    }

    /// `message` encoded. Registry names are labels and ports are checked when the registry is
    /// read; a service that still does not encode is left out rather than ending the stream.
    static func frame(_ message: DiscoveryMessage) -> [UInt8] {
        (try? message.encoded()) ?? []
    }
}
