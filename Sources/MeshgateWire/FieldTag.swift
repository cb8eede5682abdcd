/// The known field tags of a transport header body. Each belongs to exactly one kind. Tags from
/// 128 up (`WireFormat.firstExtensionTag`) are extensions: skipped in a header of another kind.
enum FieldTag: UInt8, CaseIterable {
    case namespace = 1
    case name = 2
    case port = 3
    case clientIdentity = 4
    case cluster = 5
    case nonce = 6
    /// Extension: `DiscoverOptions` (one byte of flags).
    case discoverOptions = 128

    /// The name used in `TransportHeaderError.missingField` / `invalidField` / `unexpectedField`.
    var fieldName: String {
        switch self {
        case .namespace: return "namespace"
        case .name: return "name"
        case .port: return "port"
        case .clientIdentity: return "client_identity"
        case .cluster: return "cluster"
        case .nonce: return "nonce"
        case .discoverOptions: return "discover_options"
        }
    }

    /// The one kind of header this field may appear in.
    var kind: TransportHeaderKind {
        switch self {
        case .namespace, .name, .port, .clientIdentity: return .connect
        case .cluster, .discoverOptions: return .discover
        case .nonce: return .probe
        }
    }

    /// How the field's value is checked.
    var syntax: FieldSyntax {
        switch self {
        case .namespace, .name, .cluster: return .label
        case .clientIdentity: return .identity
        case .port: return .port
        case .nonce: return .nonce
        case .discoverOptions: return .flags
        }
    }

    /// This tag's bit in a set of seen tags (tags 1–6 use bits 1–6, tag 128 bit 0).
    var bit: UInt8 { 1 << (rawValue & 7) }

    /// Whether the tag is an extension (128 and up).
    var isExtension: Bool { rawValue >= WireFormat.firstExtensionTag }
}
