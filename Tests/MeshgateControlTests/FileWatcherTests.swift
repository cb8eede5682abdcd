import Foundation
import Testing

@testable import MeshgateControl
import MeshgateTestKit

@Suite struct FileWatcherTests {
    /// A watcher on `paths` polling every 20 ms, recording changes and errors.
    final class Harness: @unchecked Sendable {
        let changes = Recorder<[String]>()
        let errors = Recorder<String>()
        let watcher: FileWatcher

        init(_ paths: [String]) {
            let changes = changes
            let errors = errors
            watcher = FileWatcher(
                paths: paths, interval: .milliseconds(20), onError: { path, message in errors.append("\(path): \(message)") },
                onChange: { changes.append($0) })
            watcher.start()
        }

        var changedPaths: [String] { changes.all.flatMap { $0 } }

        /// Lets the watcher look several times.
        func settle() async { try? await Task.sleep(for: .milliseconds(200)) }
    }

    @Test func inPlaceWriteIsAChange() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("a.yaml", "one")
        let harness = Harness([folder.file("a.yaml")])
        defer { harness.watcher.stop() }
        let handle = try #require(FileHandle(forWritingAtPath: folder.file("a.yaml")))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data("two".utf8))  // same size, same inode
        try handle.close()
        #expect(await eventually { harness.changedPaths == [folder.file("a.yaml")] })
        #expect(harness.errors.all.isEmpty)
    }

    @Test func atomicRenameIsAChange() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("a.yaml", "one")
        let harness = Harness([folder.file("a.yaml")])
        defer { harness.watcher.stop() }
        try folder.write("a.yaml.tmp", "two, longer")
        #expect(rename(folder.file("a.yaml.tmp"), folder.file("a.yaml")) == 0)
        #expect(await eventually { harness.changedPaths == [folder.file("a.yaml")] })
    }

    @Test func kubernetesSymlinkSwapIsAChange() async throws {
        // The layout of a Kubernetes secret volume: tls.crt → ..data/tls.crt, ..data → ..<timestamp>.
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let fm = FileManager.default
        try fm.createDirectory(atPath: folder.file("..2024_01"), withIntermediateDirectories: true)
        try folder.write("..2024_01/tls.crt", "cert one")
        try fm.createSymbolicLink(atPath: folder.file("..data"), withDestinationPath: "..2024_01")
        try fm.createSymbolicLink(atPath: folder.file("tls.crt"), withDestinationPath: "..data/tls.crt")
        let harness = Harness([folder.file("tls.crt")])
        defer { harness.watcher.stop() }

        try fm.createDirectory(atPath: folder.file("..2024_02"), withIntermediateDirectories: true)
        try folder.write("..2024_02/tls.crt", "cert two")
        try fm.createSymbolicLink(atPath: folder.file("..data_tmp"), withDestinationPath: "..2024_02")
        #expect(rename(folder.file("..data_tmp"), folder.file("..data")) == 0)
        try fm.removeItem(atPath: folder.file("..2024_01"))
        #expect(await eventually { harness.changedPaths == [folder.file("tls.crt")] })
        #expect(harness.errors.all.isEmpty)
    }

    @Test func deletionIsNoChangeAndRecreationIs() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("a.yaml")
        try folder.write("a.yaml", "one")
        let harness = Harness([path])
        defer { harness.watcher.stop() }
        try FileManager.default.removeItem(atPath: path)
        #expect(await eventually { !harness.errors.all.isEmpty })
        await harness.settle()
        #expect(harness.errors.all == ["\(path): No such file or directory"], "reported once, not on every poll")
        #expect(harness.changes.all.isEmpty, "a missing file counts as unchanged")
        try folder.write("a.yaml", "two")
        #expect(await eventually { harness.changedPaths == [path] })
    }

    @Test func recreationWithTheSameBytesIsNoChange() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("a.yaml")
        try folder.write("a.yaml", "same")
        let harness = Harness([path])
        defer { harness.watcher.stop() }
        try FileManager.default.removeItem(atPath: path)
        #expect(await eventually { !harness.errors.all.isEmpty })
        try folder.write("a.yaml", "same")  // a new inode, the same content
        await harness.settle()
        #expect(harness.changes.all.isEmpty)
        try folder.write("a.yaml", "different")
        #expect(await eventually { harness.changedPaths == [path] })
    }

    @Test func fileMissingAtStartIsReportedAndItsArrivalIsAChange() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("late.yaml")
        let harness = Harness([path])
        defer { harness.watcher.stop() }
        #expect(harness.errors.all == ["\(path): No such file or directory"])
        try folder.write("late.yaml", "here")
        #expect(await eventually { harness.changedPaths == [path] })
    }

    @Test func onlyTheChangedFileIsReported() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("a", "a")
        try folder.write("b", "b")
        let harness = Harness([folder.file("a"), folder.file("b"), folder.file("a")])
        defer { harness.watcher.stop() }
        #expect(harness.watcher.paths == [folder.file("a"), folder.file("b")])
        try folder.write("b", "b2")
        #expect(await eventually { harness.changedPaths == [folder.file("b")] })
        await harness.settle()
        #expect(harness.changes.all == [[folder.file("b")]], "one change, reported once")
    }

    @Test func nothingIsReportedAfterStop() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("a", "a")
        let harness = Harness([folder.file("a")])
        try folder.write("a", "a2")
        #expect(await eventually { harness.changes.all.count == 1 })
        harness.watcher.stop()
        try folder.write("a", "a3")
        await harness.settle()
        #expect(harness.changes.all.count == 1)
    }
}
