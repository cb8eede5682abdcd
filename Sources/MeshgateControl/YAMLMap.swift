import Yams

/// A YAML mapping being read against a schema: unknown keys are reported on creation, and
/// values are looked up by key with the path and line errors need.
struct YAMLMap {
    /// The mapping's own path (empty at the top level).
    let path: String
    /// The line of the key (or list dash) that introduced the mapping; missing keys are reported here.
    let line: Int
    let diagnostics: Diagnostics
    private let entries: [String: (key: Node, value: Node)]

    init(_ mapping: Node.Mapping, path: String, line: Int, known: [String], diagnostics: Diagnostics) {
        self.path = path
        self.line = line
        self.diagnostics = diagnostics
        var entries: [String: (key: Node, value: Node)] = [:]
        for (key, value) in mapping {
            let keyLine = key.mark?.line ?? line
            guard case .scalar(let scalar) = key else {
                diagnostics.report(line: keyLine, field: path, "keys must be plain strings")
                continue
            }
            let name = scalar.string
            guard known.contains(name) else {
                var message = "unknown key"
                if let suggestion = KeySuggestion.closest(to: name, in: known) { message += " (did you mean \(suggestion)?)" }
                diagnostics.report(line: keyLine, field: Self.join(path, name), message)
                continue
            }
            entries[name] = (key, value)
        }
        self.entries = entries
    }

    /// `path.key`, or `key` at the top level.
    func field(_ key: String) -> String { Self.join(path, key) }

    /// True when `key` is written, even without a value.
    func contains(_ key: String) -> Bool { entries[key] != nil }

    /// The line of `key` when present, else the mapping's line.
    func line(of key: String) -> Int { entries[key]?.key.mark?.line ?? line }

    /// The value of `key`; nil when absent or null (`key:` with nothing after it). A required key
    /// that is absent is reported at the mapping's line, one that is null at its own line.
    func value(_ key: String, required: Bool = false) -> YAMLValue? {
        guard let entry = entries[key] else {
            if required { diagnostics.report(line: line, field: field(key), "missing required key") }
            return nil
        }
        let keyLine = entry.key.mark?.line ?? line
        let valueLine: Int
        switch entry.value {
        case .scalar: valueLine = entry.value.mark?.line ?? keyLine
        default: valueLine = keyLine
        }
        let value = YAMLValue(node: entry.value, field: field(key), line: valueLine, keyLine: keyLine, diagnostics: diagnostics)
        diagnostics.fieldLines[value.field] = valueLine
        if value.isNull {
            if required { diagnostics.report(line: keyLine, field: field(key), "a value is required") }
            return nil
        }
        return value
    }

    private static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}
