import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `<stateDir>/route-ports.json`: the route ports a gateway remembers across restarts, as
/// versioned JSON. Written atomically (a temporary file in the same folder, fsync, rename, fsync
/// of the folder), so a crash leaves the old file or the new one, never half of one.
///
/// ```json
/// {"version": 1, "routes": [{"key": "default/web-west:80", "port": 4371},
///                           {"key": "default/db-west:5432", "port": 4212, "releasedAt": "2026-12-06T02:41:09Z"}]}
/// ```
public struct PortStateFile: Sendable {
    /// The file's path.
    public let path: String

    /// The version this code writes and reads.
    public static let version = 1
    /// The file name inside the state folder.
    public static let fileName = "route-ports.json"

    /// The file in `stateDirectory`.
    public init(stateDirectory: String) {
        path = (stateDirectory as NSString).appendingPathComponent(Self.fileName)
    }

    /// A problem with the file, for the log: `path: reason`.
    public struct Problem: Error, CustomStringConvertible {
        /// `path: reason`.
        public let description: String
    }

    private struct Document: Codable {
        var version: Int
        var routes: [Entry]
    }

    private struct Entry: Codable {
        var key: String
        var port: UInt16
        var releasedAt: Date?
    }

    /// The saved state; nil when there is no file yet. A file that cannot be read or parsed
    /// throws a `Problem` naming the path and the reason (the caller logs it and goes on).
    public func load() throws(Problem) -> PortAllocatorState? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw Problem(description: "\(path): cannot read: \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let document: Document
        do { document = try decoder.decode(Document.self, from: data) } catch {
            throw Problem(description: "\(path): not a route port file: \(Self.reason(error))")
        }
        guard document.version == Self.version else {
            throw Problem(description: "\(path): version \(document.version) is not supported (expected \(Self.version))")
        }
        var assignments: [String: PortAllocator.Assignment] = [:]
        for e in document.routes where e.port > 0 {
            assignments[e.key] = PortAllocator.Assignment(port: e.port, releasedAt: e.releasedAt)
        }
        return PortAllocatorState(assignments: assignments)
    }

    /// Writes `state` atomically.
    public func save(_ state: PortAllocatorState) throws(Problem) {
        let routes = state.assignments.sorted { $0.key < $1.key }.map {
            // Whole seconds, so that what is written reads back equal.
            Entry(
                key: $0.key, port: $0.value.port,
                releasedAt: $0.value.releasedAt.map { Date(timeIntervalSince1970: $0.timeIntervalSince1970.rounded(.down)) })
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do { data = try encoder.encode(Document(version: Self.version, routes: routes)) } catch {
            throw Problem(description: "\(path): cannot encode: \(error)")
        }
        try Self.writeAtomically(data + Data("\n".utf8), to: path)
    }

    /// Temporary file in the same folder, fsync, rename over `path`, fsync of the folder.
    static func writeAtomically(_ data: Data, to path: String) throws(Problem) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw Problem(description: "\(directory): cannot create the state folder: \(error.localizedDescription)")
            }
        }
        let temporary = "\(path).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Problem(description: "\(temporary): cannot create: \(String(cString: strerror(errno)))") }
        var failure: String? = nil
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "cannot write: \(String(cString: strerror(errno)))"
                    return
                }
                offset += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = "cannot fsync: \(String(cString: strerror(errno)))" }
        close(fd)
        if failure == nil && rename(temporary, path) != 0 { failure = "cannot rename into place: \(String(cString: strerror(errno)))" }
        if let failure {
            unlink(temporary)
            throw Problem(description: "\(path): \(failure)")
        }
        let dfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    private static func reason(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): return c.underlyingError.map { "\($0.localizedDescription)" } ?? c.debugDescription
        case DecodingError.keyNotFound(let key, _): return "missing key '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "\(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        default: return "\(error)"
        }
    }
}
