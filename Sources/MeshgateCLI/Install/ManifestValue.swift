import MeshgateNames
import Yams

/// A Kubernetes manifest as a value tree whose mappings keep their key order (so that the
/// output reads like a hand-written manifest: apiVersion, kind, metadata, spec).
enum ManifestValue: Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case list([ManifestValue])
    case map([(String, ManifestValue)])

    static func == (a: ManifestValue, b: ManifestValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.list(let x), .list(let y)): return x == y
        case (.map(let x), .map(let y)): return x.map(\.0) == y.map(\.0) && x.map(\.1) == y.map(\.1)
        default: return false
        }
    }

    /// A mapping from ordered pairs; pairs whose value is nil are left out.
    static func object(_ pairs: KeyValuePairs<String, ManifestValue?>) -> ManifestValue {
        .map(pairs.compactMap { key, value in value.map { (key, $0) } })
    }

    /// A mapping of strings (labels, annotations, node selectors), in key order.
    static func strings(_ values: [(String, String)]) -> ManifestValue {
        .map(values.map { ($0.0, .string($0.1)) })
    }

    /// The Yams node: strings that YAML would read as something else are quoted by Yams.
    var node: Node {
        switch self {
        case .string(let s): return Node(s, Tag(.str), Self.style(for: s))
        case .int(let i): return Node(String(i), Tag(.int))
        case .bool(let b): return Node(b ? "true" : "false", Tag(.bool))
        case .list(let items): return .sequence(Node.Sequence(items.map(\.node)))
        case .map(let pairs): return .mapping(Node.Mapping(pairs.map { (Node($0.0, Tag(.str), Self.style(for: $0.0)), $0.1.node) }))
        }
    }

    /// Plain when YAML 1.1 and 1.2 readers both take the text back as the same string; else
    /// double-quoted (`"true"`, `"4143"`, `"*"`, `"a: b"`, an empty string, multi-line text
    /// is written as a literal block).
    private static func style(for s: String) -> Node.Scalar.Style {
        if s.contains("\n") { return .literal }
        if s.isEmpty { return .doubleQuoted }
        let resolved = Resolver.default.resolveTag(of: Node(s))
        if resolved != .str { return .doubleQuoted }
        let yaml11 = ["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"]
        if yaml11.contains(s.lowercased()) { return .doubleQuoted }
        if let first = s.first, "-?:,[]{}#&*!|>'\"%@` ".contains(first) { return .doubleQuoted }
        if s.contains(": ") || s.contains(" #") || s.hasSuffix(":") || s.hasSuffix(" ") { return .doubleQuoted }
        if Double(s) != nil || s.allSatisfy({ $0.isNumber || $0 == "." || $0 == "_" || $0 == ":" }) { return .doubleQuoted }
        return .plain
    }

    /// Compact-free, two-space JSON with keys in their order.
    func json(indent: Int = 0) -> String {
        let pad = String(repeating: "  ", count: indent + 1)
        let close = String(repeating: "  ", count: indent)
        switch self {
        case .string(let s): return JSONString.quoted(s)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .list(let items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { pad + $0.json(indent: indent + 1) }.joined(separator: ",\n") + "\n\(close)]"
        case .map(let pairs):
            if pairs.isEmpty { return "{}" }
            return "{\n" + pairs.map { "\(pad)\(JSONString.quoted($0.0)): \($0.1.json(indent: indent + 1))" }.joined(separator: ",\n")
                + "\n\(close)}"
        }
    }

    /// One YAML document (no `---`).
    func yaml() throws -> String {
        try Yams.serialize(node: node, indent: 2, width: -1, allowUnicode: true, sortKeys: false)
    }
}
