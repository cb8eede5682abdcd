/// A field that is either a number or a name, such as a Service port's `targetPort`.
///
/// Encoded as a bare JSON number or string.
public enum KubeIntOrString: Codable, Hashable, Sendable, CustomStringConvertible {
    /// A number.
    case int(Int)
    /// A name.
    case string(String)

    /// Decodes a JSON number or string.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let value = try? c.decode(Int.self) {
            self = .int(value)
        } else {
            self = .string(try c.decode(String.self))
        }
    }

    /// Encodes a JSON number or string.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let value): try c.encode(value)
        case .string(let value): try c.encode(value)
        }
    }

    /// The number or the name as text.
    public var description: String {
        switch self {
        case .int(let value): return String(value)
        case .string(let value): return value
        }
    }
}
