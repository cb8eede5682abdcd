/// The known field tags of a transport header body. Each belongs to exactly one kind.
enum FieldTag: UInt8, CaseIterable {
    case namespace = 1
    case name = 2
    case port = 3
    case clientIdentity = 4
    case cluster = 5
    case nonce = 6

    /// The name used in `TransportHeaderError.missingField` / `invalidField` / `unexpectedField`.
    var fieldName: String {
        switch self {
        case .namespace: return "namespace"
        case .name: return "name"
        case .port: return "port"
        case .clientIdentity: return "client_identity"
        case .cluster: return "cluster"
        case .nonce: return "nonce"
        }
    }

    /// The one kind of header this field may appear in.
    var kind: TransportHeaderKind {
        switch self {
        case .namespace, .name, .port, .clientIdentity: return .connect
        case .cluster: return .discover
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
        }
    }

    /// This tag's bit in a set of seen tags.
    var bit: UInt8 { 1 << (rawValue & 7) }
}
