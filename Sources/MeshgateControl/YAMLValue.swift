import MeshgateNames
import Yams

/// One value in a YAML tree, with the field path and line its errors carry, and typed readers
/// that report a type or value error (and return nil) instead of throwing.
struct YAMLValue {
    let node: Node
    /// Dotted path, e.g. `routes[1].target.port`.
    let field: String
    /// Where errors about this value point: the scalar itself, or the key that introduced a
    /// block mapping or list.
    let line: Int
    /// The line of the key (or list dash) that introduced the value.
    let keyLine: Int
    let diagnostics: Diagnostics

    init(node: Node, field: String, line: Int, keyLine: Int, diagnostics: Diagnostics) {
        self.node = node
        self.field = field
        self.line = line
        self.keyLine = keyLine
        self.diagnostics = diagnostics
    }

    /// True for `~`, `null` and an empty plain value: a key written without value.
    var isNull: Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// How the value looks, for messages: `a mapping`, `a list`, `'text'`.
    var kind: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar): return scalar.style == .plain ? "'\(scalar.string)'" : "the string \"\(scalar.string)\""
        }
    }

    /// Records an error about this value.
    func report(_ message: String) {
        diagnostics.report(line: line, field: field, message)
    }

    /// The text of a scalar (any quoting); nil after a type error for a mapping or list.
    var string: String? {
        guard case .scalar(let scalar) = node else {
            report("expected a string, found \(kind)")
            return nil
        }
        return scalar.string
    }

    /// A string checked and converted by `parse`; its failure message is reported.
    /// A duration in the one grammar (`DurationText`), its problem as a config value error.
    static func duration(_ text: String) throws(InvalidValue) -> Duration {
        do { return try DurationText.parse(text) } catch { throw InvalidValue(error.description) }
    }

    func parsed<T>(_ parse: (String) throws(InvalidValue) -> T) -> T? {
        guard let text = string else { return nil }
        do {
            return try parse(text)
        } catch {
            report(error.message)
            return nil
        }
    }

    /// A decimal integer written without quotes, within `range` (reported as `name N out of range`).
    func int(in range: ClosedRange<Int>, name: String = "value") -> Int? {
        guard case .scalar(let scalar) = node, scalar.style == .plain else {
            report("expected an integer, found \(kind)")
            return nil
        }
        let text = scalar.string
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            report("expected an integer, found \(kind)")
            return nil
        }
        guard let value = Int(text), range.contains(value) else {
            report("\(name) \(text) out of range")
            return nil
        }
        return value
    }

    /// A TCP port, 1…65535, written as an integer.
    var port: UInt16? {
        int(in: 1...65535, name: "port").map { UInt16($0) }
    }

    /// `true` or `false` (any letter case), without quotes.
    var bool: Bool? {
        if case .scalar(let scalar) = node, scalar.style == .plain {
            switch scalar.string.lowercased() {
            case "true": return true
            case "false": return false
            default: break
            }
        }
        report("expected true or false, found \(kind)")
        return nil
    }

    /// A duration such as `5s`, which must be more than zero.
    var positiveDuration: Duration? {
        guard let duration = parsed(Self.duration) else { return nil }
        guard duration > .zero else {
            report("must be more than zero")
            return nil
        }
        return duration
    }

    /// A mapping whose keys must all be in `known`; nil after reporting when the value is not a mapping.
    func map(known: [String]) -> YAMLMap? {
        guard case .mapping(let mapping) = node else {
            report("expected a mapping, found \(kind)")
            return nil
        }
        return YAMLMap(mapping, path: field, line: keyLine, known: known, diagnostics: diagnostics)
    }

    /// The items of a list, each with its path `field[i]` and line; a missing list is the caller's concern.
    var list: [YAMLValue]? {
        guard case .sequence(let sequence) = node else {
            report("expected a list, found \(kind)")
            return nil
        }
        return sequence.enumerated().map { index, item in
            let itemLine = item.mark?.line ?? keyLine
            diagnostics.fieldLines["\(field)[\(index)]"] = itemLine
            return YAMLValue(node: item, field: "\(field)[\(index)]", line: itemLine, keyLine: itemLine, diagnostics: diagnostics)
        }
    }
}
