import Yams

/// Turns YAML text into a node tree that remembers lines, and YAML's own errors into `ConfigError`s.
enum YAMLDocument {
    /// The root mapping of `yaml`, or nil after reporting why there is none (a syntax error, an
    /// empty document, a root that is not a mapping).
    static func rootMapping(_ yaml: String, known: [String], diagnostics: Diagnostics) -> YAMLMap? {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            report(error, yaml: yaml, diagnostics: diagnostics)
            return nil
        }
        guard let root else {
            diagnostics.report(line: 1, field: "", "the file is empty")
            return nil
        }
        let value = YAMLValue(node: root, field: "", line: root.mark?.line ?? 1, keyLine: root.mark?.line ?? 1, diagnostics: diagnostics)
        guard case .mapping = root else {
            diagnostics.report(line: value.line, field: "", "expected a mapping of keys to values at the top level, found \(value.kind)")
            return nil
        }
        return value.map(known: known)
    }

    /// Reports a Yams error with the line it carries.
    static func report(_ error: Error, yaml: String, diagnostics: Diagnostics) {
        guard let yamlError = error as? YamlError else {
            diagnostics.report(line: nil, field: "", "cannot parse YAML: \(error)")
            return
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: \(problem)"
            if let context, context.text == "expected a single document in the stream" {
                message = "invalid YAML: a second document ('---'); the file must hold one"
            } else if let context {
                message += " (\(context.text) at line \(context.mark.line))"
            }
            let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
            if mark.line >= 1, mark.line <= lines.count, lines[mark.line - 1].prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") {
                message += "; indent with spaces, not tabs"
            }
            diagnostics.report(line: mark.line, field: "", message)
        case .reader(let problem, let offset, _, let yaml):
            let line = offset.map { characterOffset in yaml.prefix(characterOffset).filter { $0 == "\n" }.count + 1 }
            diagnostics.report(line: line, field: "", "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            if let again = lineOfRepeat(key: key, after: context.mark, in: yaml) {
                diagnostics.report(line: again, field: key, "duplicate key (first written at line \(context.mark.line))")
            } else {
                diagnostics.report(line: context.mark.line, field: key, "duplicate key in the same mapping")
            }
        default:
            diagnostics.report(line: nil, field: "", "cannot parse YAML: \(yamlError)")
        }
    }

    /// Yams names only the first of two equal keys; finds the second in block style: the next
    /// line with `key:` at the same column and only spaces before it. Nil when not found.
    static func lineOfRepeat(key: String, after mark: Mark, in yaml: String) -> Int? {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line >= 1, mark.line < lines.count else { return nil }
        let indent = mark.column - 1
        for index in mark.line..<lines.count {
            let line = lines[index]
            guard line.count > indent, line.prefix(indent).allSatisfy({ $0 == " " }) else { continue }
            let rest = line.dropFirst(indent)
            let unquoted = rest.hasPrefix("\"\(key)\"") || rest.hasPrefix("'\(key)'") ? rest.dropFirst(key.count + 2) : nil
            let plain = rest.hasPrefix(key) ? rest.dropFirst(key.count) : nil
            if let after = plain ?? unquoted, after.drop(while: { $0 == " " }).hasPrefix(":") { return index + 1 }
        }
        return nil
    }
}
