import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Which link holds each mirrored name (`namespace/name` → cluster), kept in
/// `<stateDir>/mirror-holders.json` so that a restart does not change who holds a name
/// (docs/links.md, "Who holds a mirrored name").
///
/// The file is JSON, `{"version": 1, "holders": {"default/a-b-c": "c"}}`, written atomically
/// (a temporary file in the same folder, fsynced, renamed into place, the folder fsynced).
public struct MirrorHolders: Equatable, Sendable {
    /// The file name under `stateDir`.
    public static let fileName = "mirror-holders.json"

    /// The holder of each mirrored name.
    public var holders: [String: String]

    public init(_ holders: [String: String] = [:]) {
        self.holders = holders
    }

    private struct File: Codable {
        var version: Int
        var holders: [String: String]
    }

    /// `<stateDir>/mirror-holders.json`.
    public static func path(in stateDir: String) -> String {
        stateDir.hasSuffix("/") ? stateDir + fileName : stateDir + "/" + fileName
    }

    /// Reads the file at `path`: empty when there is none; an error message (`path: reason`) when
    /// it cannot be read or parsed (the caller starts empty and says so).
    public static func load(path: String) -> Result<MirrorHolders, MirrorHoldersError> {
        guard FileManager.default.fileExists(atPath: path) else { return .success(MirrorHolders()) }
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(MirrorHoldersError(description: "\(path): cannot be read"))
        }
        do {
            let file = try JSONDecoder().decode(File.self, from: data)
            guard file.version == 1 else {
                return .failure(MirrorHoldersError(description: "\(path): version \(file.version) is not 1"))
            }
            return .success(MirrorHolders(file.holders))
        } catch {
            return .failure(MirrorHoldersError(description: "\(path): not a holders file (\(error))"))
        }
    }

    /// Writes the file atomically, creating `stateDir` (mode 0755) when it is missing.
    public func save(path: String) throws(MirrorHoldersError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let bytes: [UInt8]
        do {
            bytes = Array(try encoder.encode(File(version: 1, holders: holders))) + [0x0A]
        } catch {
            throw MirrorHoldersError(description: "\(path): cannot encode (\(error))")
        }
        let folder = (path as NSString).deletingLastPathComponent
        let dir = folder.isEmpty ? "." : folder
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw MirrorHoldersError(description: "\(dir): cannot create folder (\(error))")
        }
        let temporary = "\(dir)/.\(Self.fileName).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.failure(temporary, "cannot create") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = Self.failure(temporary, "cannot write")
                close(fd)
                unlink(temporary)
                throw e
            }
            offset += n
        }
        guard fsync(fd) == 0 else {
            let e = Self.failure(temporary, "cannot fsync")
            close(fd)
            unlink(temporary)
            throw e
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let e = Self.failure(path, "cannot rename into place")
            unlink(temporary)
            throw e
        }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    private static func failure(_ path: String, _ what: String) -> MirrorHoldersError {
        MirrorHoldersError(description: "\(what) \(path): \(String(cString: strerror(errno)))")
    }
}

/// Why the holders file could not be read or written.
public struct MirrorHoldersError: Error, CustomStringConvertible, Sendable {
    public let description: String
}
