/// One frame of the `discover` stream, which a serving gateway sends after a `discover` transport
/// header: a full snapshot of its exports (`snapshotBegin`, `upsert`…, `snapshotEnd`), then
/// changes (`upsert`, `remove`), then `keepalive`s while nothing changes.
///
/// Wire format (all integers big-endian; full description in docs/wire.md, "The discover stream"):
///
/// ```
/// | frame length (2) | type (1) | fields ... |      frame length = 1 + fields, ≤ maxFrameSize
/// type 1 snapshotBegin, 4 snapshotEnd: generation (UInt64)
/// type 2 upsert: label namespace, label name, port count (1), port (2) × count
/// type 3 remove: label namespace, label name
/// type 5 keepalive: nothing
/// type 6 upsertNamed: label namespace, label name, port count (1), (port (2), port name) × count
/// label: | length (1) | 1–63 bytes of [a-z0-9-], no leading or trailing '-' |
/// port name: | length (1) | 0 bytes (unnamed), or a `PortName`: 1–15 bytes |
/// ```
///
/// A gateway sends `upsertNamed` instead of `upsert` only on a stream whose `discover` header
/// asked for `DiscoverOptions.portNames`.
public enum DiscoveryMessage: Hashable, Sendable {
    /// A full snapshot follows; the mirror forgets what it had once `snapshotEnd` arrives.
    case snapshotBegin(generation: UInt64)
    /// The service is exported (new, or its ports changed).
    case upsert(DiscoveredService)
    /// The service is exported, with its ports' names (`DiscoveredService.portNames`; sent only
    /// to a mirror that asked for names).
    case upsertNamed(DiscoveredService)
    /// The service is no longer exported.
    case remove(namespace: String, name: String)
    /// The snapshot begun with the same generation is complete.
    case snapshotEnd(generation: UInt64)
    /// Nothing changed; the stream is alive.
    case keepalive

    /// The largest frame length (the bytes after the 2-byte length prefix): 4096. A decoder
    /// refuses a longer frame as soon as it has read the length.
    public static let maxFrameSize: Int = 4096
    /// The most ports one service may list: 64.
    public static let maxPortsPerService: Int = 64

    /// The service of an `upsert` or `upsertNamed`, nil for other frames.
    public var service: DiscoveredService? {
        switch self {
        case .upsert(let service), .upsertNamed(let service): return service
        default: return nil
        }
    }

    /// The type byte this message is sent with.
    var typeByte: UInt8 {
        switch self {
        case .snapshotBegin: return DiscoveryFrame.snapshotBegin
        case .upsert: return DiscoveryFrame.upsert
        case .upsertNamed: return DiscoveryFrame.upsertNamed
        case .remove: return DiscoveryFrame.remove
        case .snapshotEnd: return DiscoveryFrame.snapshotEnd
        case .keepalive: return DiscoveryFrame.keepalive
        }
    }
}

/// Constants of the `discover` frame format.
enum DiscoveryFrame {
    static let snapshotBegin: UInt8 = 1
    static let upsert: UInt8 = 2
    static let remove: UInt8 = 3
    static let snapshotEnd: UInt8 = 4
    static let keepalive: UInt8 = 5
    static let upsertNamed: UInt8 = 6
    /// The frame length prefix.
    static let lengthSize = 2
    static let generationSize = 8

    static let namespaceField = "namespace"
    static let nameField = "name"
    static let portsField = "ports"
    static let portNameField = "port_name"
}
