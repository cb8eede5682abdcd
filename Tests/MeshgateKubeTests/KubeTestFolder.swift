import Foundation

/// A fresh folder under the system temporary folder, removed by `remove()`.
struct KubeTestFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "meshgate-kube-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: file(name), atomically: false, encoding: .utf8)
        return file(name)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
