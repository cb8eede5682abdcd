import Foundation

/// A fresh folder under the system temporary folder, removed by `remove()`.
public struct TemporaryFolder: Sendable {
    /// The folder's path (no trailing slash).
    public let path: String

    /// Creates `<tmp>/<prefix>-<random>`.
    public init(prefix: String = "meshgate-test") throws {
        path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The path of `name` in the folder.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `text` to `name` in the folder (not atomically: in place) and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: file(name), atomically: false, encoding: .utf8)
        return file(name)
    }

    /// Removes the folder and everything in it.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
