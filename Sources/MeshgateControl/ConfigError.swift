/// One problem found in a configuration file, located by file, line and field.
///
/// Its description has the form `gateway.yaml:14: inbound.listen: port 99999 out of range`.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file as it was named to the loader (a path, or the name given to `parse`).
    public let file: String
    /// The 1-based line the problem is on; nil when it concerns the whole file (it cannot be read).
    public let line: Int?
    /// The dotted path of the field, e.g. `inbound.listen` or `routes[2].gateways[0]`; empty when
    /// the problem is not about one field (a YAML syntax error, an unreadable file).
    public let field: String
    /// What is wrong, in words.
    public let message: String

    /// Creates an error.
    public init(file: String, line: Int?, field: String, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    /// `file:line: field: message`, leaving out the parts that are absent.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if !field.isEmpty { text += field + ": " }
        return text + message
    }
}

/// All the problems found in one or more configuration files; thrown when any was found.
///
/// The description prints one error per line, in the order they were found (file order).
public struct ConfigErrors: Error, Hashable, Sendable, CustomStringConvertible {
    /// The problems, never empty when thrown.
    public let errors: [ConfigError]

    /// Wraps a list of errors.
    public init(_ errors: [ConfigError]) {
        self.errors = errors
    }

    /// One error per line.
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}
