/// Why a transport header could not be decoded or encoded.
///
/// A struct around an internal code so new reasons can be added without breaking `switch`es in
/// client code: compare with `==` against the static members (`error == .badMagic`) and use
/// `reason` as a counter suffix and `description` in logs.
///
/// Field names used by `missingField`, `invalidField` and `unexpectedField`: `namespace`, `name`,
/// `port`, `client_identity`, `cluster`, `nonce`, `discover_options`.
public struct TransportHeaderError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Code: Hashable, Sendable {
        case badMagic
        case unsupportedVersion
        case unknownKind
        case tooLong
        case truncatedField
        case missingField(String)
        case invalidField(String)
        case unexpectedField(String)
        case unknownField
        case duplicateField
    }

    let code: Code

    init(_ code: Code) { self.code = code }

    /// The first bytes are not `M G W H`.
    public static let badMagic = TransportHeaderError(.badMagic)
    /// The version byte is not 1.
    public static let unsupportedVersion = TransportHeaderError(.unsupportedVersion)
    /// The kind byte is not a `TransportHeaderKind`.
    public static let unknownKind = TransportHeaderError(.unknownKind)
    /// The header (8 + body length) exceeds `TransportHeader.maxEncodedSize`.
    public static let tooLong = TransportHeaderError(.tooLong)
    /// A field's tag, length or value runs past the end of the body.
    public static let truncatedField = TransportHeaderError(.truncatedField)
    /// A field the kind requires is absent.
    public static func missingField(_ name: String) -> TransportHeaderError { .init(.missingField(name)) }
    /// A field's length or value breaks its rules (label syntax, port 0, identity characters…).
    public static func invalidField(_ name: String) -> TransportHeaderError { .init(.invalidField(name)) }
    /// A known field that does not belong to this kind (e.g. `nonce` in a `connect` header).
    public static func unexpectedField(_ name: String) -> TransportHeaderError { .init(.unexpectedField(name)) }
    /// A tag below 128 that this version does not know (tags ≥ 128 are skipped instead).
    public static let unknownField = TransportHeaderError(.unknownField)
    /// A known tag appears twice.
    public static let duplicateField = TransportHeaderError(.duplicateField)

    /// A short snake_case label, one per kind of failure (without the field name), usable as a
    /// counter suffix, e.g. `bad_magic`, `missing_field`.
    public var reason: String {
        switch code {
        case .badMagic: return "bad_magic"
        case .unsupportedVersion: return "unsupported_version"
        case .unknownKind: return "unknown_kind"
        case .tooLong: return "too_long"
        case .truncatedField: return "truncated_field"
        case .missingField: return "missing_field"
        case .invalidField: return "invalid_field"
        case .unexpectedField: return "unexpected_field"
        case .unknownField: return "unknown_field"
        case .duplicateField: return "duplicate_field"
        }
    }

    /// The field concerned, for `missingField`, `invalidField` and `unexpectedField`.
    public var field: String? {
        switch code {
        case .missingField(let name), .invalidField(let name), .unexpectedField(let name): return name
        default: return nil
        }
    }

    /// `reason`, followed by the field name when there is one (e.g. `missing_field: port`).
    public var description: String {
        if let field { return "\(reason): \(field)" }
        return reason
    }
}
