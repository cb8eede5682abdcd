#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads small text files (certificates, keys, bundles) with errors that name the file.
public enum FileReading {
    /// The largest file read: 1 MiB, far more than any certificate chain or bundle.
    public static let limit = 1 << 20

    /// The file's bytes as UTF-8 text.
    ///
    /// - Throws: ``IdentityError/Code/unreadableFile`` naming `path` (missing, no permission, a
    ///   folder, larger than ``limit``).
    public static func text(at path: String) throws(IdentityError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(path, errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure(path, errno)
            }
            if n == 0 { break }
            bytes += buffer[0..<n]
            guard bytes.count <= limit else {
                throw IdentityError(.unreadableFile, path: path, "\(path): larger than \(limit) bytes, not a certificate or key file")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// True when something exists at `path` (a file, folder or dangling link).
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    static func failure(_ path: String, _ code: Int32) -> IdentityError {
        IdentityError(.unreadableFile, path: path, "cannot read \(path): \(String(cString: strerror(code)))")
    }
}
