import Foundation

/// Reading configuration files from disk and resolving the paths written inside them.
public enum ConfigFile {
    /// The file's text; a read failure or invalid UTF-8 becomes a `ConfigErrors` naming the file.
    public static func read(path: String) throws(ConfigErrors) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
            throw ConfigErrors([ConfigError(file: path, line: nil, field: "", message: "cannot read the file: \(reason)")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigErrors([ConfigError(file: path, line: nil, field: "", message: "the file is not valid UTF-8")])
        }
        return text
    }

    /// The folder holding `path`, made absolute against the working directory.
    public static func directory(of path: String) -> String {
        URL(fileURLWithPath: absolute(path)).deletingLastPathComponent().path
    }

    /// `path` unchanged when absolute (or when `base` is empty), else `base/path`, with `.` and
    /// `..` parts and a trailing slash removed.
    public static func resolve(_ path: String, against base: String) -> String {
        if path.hasPrefix("/") || base.isEmpty { return normalize(path) }
        return normalize(base.hasSuffix("/") ? base + path : base + "/" + path)
    }

    /// `path` made absolute against the current working directory.
    static func absolute(_ path: String) -> String {
        resolve(path, against: FileManager.default.currentDirectoryPath)
    }

    /// Removes `.` parts, folds `..` into the part before, drops repeated and trailing slashes.
    static func normalize(_ path: String) -> String {
        let isAbsolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
                continue
            }
            if part == "..", isAbsolute { continue }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        if isAbsolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}
