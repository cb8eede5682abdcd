#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One file of an identity folder: its name and contents, and whether it is a private key.
public struct IdentityFile: Equatable, Sendable {
    /// The file name inside the folder, e.g. `tls.key`.
    public let name: String
    /// The PEM text.
    public let contents: String
    /// Private keys are created with mode 0600, other files 0644.
    public let isPrivateKey: Bool

    /// A file to write.
    public init(name: String, contents: String, isPrivateKey: Bool) {
        self.name = name
        self.contents = contents
        self.isPrivateKey = isPrivateKey
    }

    /// The mode the file is created with (before the umask).
    public var mode: mode_t { isPrivateKey ? 0o600 : 0o644 }
}

/// Writes identity folders so that a process watching them never reads half a file: each file
/// goes to a temporary name in the same folder, is fsynced, then renamed over the old one (with
/// `force`) or hard-linked into place (without, which fails if the name exists); then the folder
/// is fsynced. Keys are created with mode 0600 (never chmod-ed afterwards), certificates 0644,
/// missing folders 0755.
///
/// Files are written in the order given; callers put the certificate last, so that a watcher
/// that reloads when the certificate changes finds the matching key and bundle already there.
public enum IdentityFiles {
    /// Writes `files` into `directory`, creating it (and missing parents) when needed.
    ///
    /// - Throws: ``IdentityError/Code/fileExists`` naming the first file that already exists,
    ///   when `force` is false (nothing is written then); ``IdentityError/Code/writeFailed``.
    public static func write(_ files: [IdentityFile], into directory: String, force: Bool) throws(IdentityError) {
        try createDirectory(directory)
        let paths = files.map { join(directory, $0.name) }
        if !force, let existing = paths.first(where: FileReading.exists) {
            throw IdentityError(.fileExists, path: existing, "\(existing) exists; refusing to overwrite it (use --force to replace)")
        }
        for (file, path) in zip(files, paths) {
            try writeAtomically(file, to: path, directory: directory, replace: force)
        }
        try syncDirectory(directory)
    }

    /// `directory/name` (no doubled slash).
    public static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// `mkdir -p` with mode 0755.
    static func createDirectory(_ directory: String) throws(IdentityError) {
        var info = stat()
        if stat(directory, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw IdentityError(.writeFailed, path: directory, "\(directory) exists and is not a folder")
            }
            return
        }
        let parent = parentOf(directory)
        if let parent { try createDirectory(parent) }
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw writeError(directory, errno, "cannot create folder")
        }
    }

    private static func parentOf(_ path: String) -> String? {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return nil }
        let parent = trimmed[..<slash]
        return parent.isEmpty ? nil : String(parent)
    }

    private static func writeAtomically(_ file: IdentityFile, to path: String, directory: String, replace: Bool) throws(IdentityError) {
        let temporary = join(directory, ".\(file.name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, file.mode)
        guard fd >= 0 else { throw writeError(temporary, errno, "cannot create") }
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            let bytes = Array(file.contents.utf8)
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw writeError(temporary, errno, "cannot write")
                }
                offset += n
            }
            guard fsync(fd) == 0 else { throw writeError(temporary, errno, "cannot fsync") }
        }
        if replace {
            guard rename(temporary, path) == 0 else { throw writeError(path, errno, "cannot rename into place") }
        } else {
            // link(2) fails when the name exists, so a file created since the check is kept.
            if link(temporary, path) == 0 {
                unlink(temporary)
            } else if errno == EEXIST {
                throw IdentityError(.fileExists, path: path, "\(path) exists; refusing to overwrite it (use --force to replace)")
            } else if errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS {
                // A file system without hard links: rename, having checked the name is free.
                guard !FileReading.exists(path) else {
                    throw IdentityError(.fileExists, path: path, "\(path) exists; refusing to overwrite it (use --force to replace)")
                }
                guard rename(temporary, path) == 0 else { throw writeError(path, errno, "cannot rename into place") }
            } else {
                throw writeError(path, errno, "cannot link into place")
            }
        }
        ok = true
    }

    private static func syncDirectory(_ directory: String) throws(IdentityError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw writeError(directory, errno, "cannot open folder") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw writeError(directory, errno, "cannot fsync folder") }
    }

    private static func writeError(_ path: String, _ code: Int32, _ what: String) -> IdentityError {
        IdentityError(.writeFailed, path: path, "\(what) \(path): \(String(cString: strerror(code)))")
    }
}
