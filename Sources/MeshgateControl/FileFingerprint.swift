import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `stat` says about a file (following symlinks): enough to notice a write, a rename over
/// it, or a symlink swapped to another file.
struct FileStat: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    /// Modification time, nanoseconds since the epoch.
    let modified: Int64

    /// The file's stat, or the failure's `errno` text.
    static func of(_ path: String) -> Result<FileStat, InvalidValue> {
        var info = stat()
        guard stat(path, &info) == 0 else { return .failure(InvalidValue(String(cString: strerror(errno)))) }
        #if canImport(Darwin)
            let modified = Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
        #else
            let modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        #endif
        return .success(
            FileStat(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size), modified: modified))
    }

    /// True when the file changed so recently that a further write could leave the same stat
    /// (timestamps advance in coarse steps): its content must be hashed again to be sure.
    func isRecent(now: Date = Date()) -> Bool {
        let nowNanos = Int64(now.timeIntervalSince1970 * 1e9)
        return nowNanos - modified < 2_000_000_000
    }
}

/// A 64-bit FNV-1a hash of a file's content: cheap, and enough to tell a rewrite with the same
/// bytes (no change) from a real one.
enum ContentHash {
    static func of(_ path: String) -> Result<UInt64, InvalidValue> {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            return .failure(InvalidValue("cannot read: \((error as NSError).localizedDescription)"))
        }
        return .success(hash(data))
    }

    static func hash(_ data: Data) -> UInt64 {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        data.withUnsafeBytes { bytes in
            for byte in bytes {
                value ^= UInt64(byte)
                value &*= 0x0000_0100_0000_01b3
            }
        }
        return value
    }
}
