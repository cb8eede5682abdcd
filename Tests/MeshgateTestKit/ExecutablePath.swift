import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where executables are: on `PATH`, in a list of folders, and the one running now.
public enum ExecutablePath {
    /// The first `<folder>/<name>` that is an executable file.
    public static func find(_ name: String, in folders: [String]) -> String? {
        folders.lazy.filter { !$0.isEmpty }.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The executable `name` on `PATH`, if any.
    public static func onPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return find(name, in: path.split(separator: ":").map(String.init))
    }

    /// The binary running now: /proc/self/exe, else argv[0] made absolute.
    public static func current() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 {
            return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let arg0 = CommandLine.arguments[0]
        if arg0.hasPrefix("/") { return arg0 }
        if arg0.contains("/") { return FileManager.default.currentDirectoryPath + "/" + arg0 }
        return onPath(arg0) ?? arg0
    }
}
