/// Collects the errors found while reading one file, so that all of them are reported at once.
///
/// Used by one parse on one thread; not shared.
final class Diagnostics {
    /// The file name every error carries.
    let file: String
    private(set) var errors: [ConfigError] = []
    /// The line of every field value read so far, by dotted path, for checks that span fields.
    var fieldLines: [String: Int] = [:]

    init(file: String) {
        self.file = file
    }

    /// What `read` makes of one part of the file, or nil when reading it reported an error (the
    /// part is dropped; its errors stand for it).
    func unlessErrors<Value>(_ read: () -> Value?) -> Value? {
        let before = errors.count
        let value = read()
        return errors.count == before ? value : nil
    }

    /// Records a problem.
    func report(line: Int?, field: String, _ message: String) {
        errors.append(ConfigError(file: file, line: line, field: field, message: message))
    }

    /// The line of `field` if it was read; else of the nearest enclosing field that was; else 1.
    func line(of field: String) -> Int {
        var path = Substring(field)
        while !path.isEmpty {
            if let line = fieldLines[String(path)] { return line }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            path = path[..<cut]
        }
        return 1
    }

    /// Everything collected, in file order (errors on the same line keep the order they were found in).
    var sortedErrors: [ConfigError] {
        errors.enumerated().sorted { a, b in
            let (lineA, lineB) = (a.element.line ?? 0, b.element.line ?? 0)
            return lineA != lineB ? lineA < lineB : a.offset < b.offset
        }.map(\.element)
    }

    /// Throws everything collected, when anything was.
    func throwIfAny() throws(ConfigErrors) {
        if !errors.isEmpty { throw ConfigErrors(sortedErrors) }
    }
}
