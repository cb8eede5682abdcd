import Foundation
import MeshgateTestKit
import Testing

@testable import MeshgateControl

@Suite struct FileWatcherTests {
    /// A watcher polling every 20 ms on files of a fresh folder, recording changes and errors.
    /// It also watches a marker file of its own, left out of `changes`: `settle()` rewrites the
    /// marker and waits until it is reported, which proves the watcher has looked at every file
    /// since.
    final class Harness: @unchecked Sendable {
        let folder: TemporaryFolder
        let changes = Recorder<[String]>()
        let errors = Recorder<String>()
        let marker: String
        private let markerChanges = Recorder<Int>()
        let watcher: FileWatcher

        /// Writes `files` (name, text) in a fresh folder, runs `prepare` on it, then watches
        /// `names` there.
        init(
            files: [(String, String)] = [], prepare: (TemporaryFolder) throws -> Void = { _ in }, watching names: [String]
        ) throws {
            folder = try TemporaryFolder(prefix: "meshgate-control")
            for (name, text) in files { try folder.write(name, text) }
            try prepare(folder)
            marker = folder.file(".marker")
            try folder.write(".marker", "0")
            let (changes, errors, markerChanges, marker) = (changes, errors, markerChanges, marker)
            watcher = FileWatcher(
                paths: names.map(folder.file) + [marker], interval: .milliseconds(20),
                onError: { path, message in errors.append("\(path): \(message)") },
                onChange: { paths in
                    let watched = paths.filter { $0 != marker }
                    if !watched.isEmpty { changes.append(watched) }
                    if paths.contains(marker) { markerChanges.append(1) }
                })
            watcher.start()
        }

        func path(_ name: String) -> String { folder.file(name) }

        var changedPaths: [String] { changes.all.flatMap { $0 } }

        /// Rewrites the marker and waits until the watcher reports it: every change made before
        /// has been seen (and would have been reported with it or earlier).
        func settle() async throws -> Bool {
            let seen = markerChanges.all.count
            try folder.write(".marker", "\(seen + 1)")
            return await eventually { markerChanges.all.count > seen }
        }

        /// Deletes `name` and waits until the watcher reports it missing.
        func deleteAndAwaitError(_ name: String) async throws -> Bool {
            try FileManager.default.removeItem(atPath: path(name))
            return await eventually { !errors.all.isEmpty }
        }

        func stop() {
            watcher.stop()
            folder.remove()
        }
    }

    @Test func inPlaceWriteIsAChange() async throws {
        let harness = try Harness(files: [("a.yaml", "one")], watching: ["a.yaml"])
        defer { harness.stop() }
        let handle = try #require(FileHandle(forWritingAtPath: harness.path("a.yaml")))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data("two".utf8))  // same size, same inode
        try handle.close()
        #expect(await eventually { harness.changedPaths == [harness.path("a.yaml")] })
        #expect(harness.errors.all.isEmpty)
    }

    @Test func atomicRenameIsAChange() async throws {
        let harness = try Harness(files: [("a.yaml", "one")], watching: ["a.yaml"])
        defer { harness.stop() }
        try harness.folder.write("a.yaml.tmp", "two, longer")
        #expect(rename(harness.path("a.yaml.tmp"), harness.path("a.yaml")) == 0)
        #expect(await eventually { harness.changedPaths == [harness.path("a.yaml")] })
    }

    @Test func kubernetesSymlinkSwapIsAChange() async throws {
        // The layout of a Kubernetes secret volume: tls.crt → ..data/tls.crt, ..data → ..<timestamp>.
        let fm = FileManager.default
        let harness = try Harness(
            prepare: { folder in
                try fm.createDirectory(atPath: folder.file("..2024_01"), withIntermediateDirectories: true)
                try folder.write("..2024_01/tls.crt", "cert one")
                try fm.createSymbolicLink(atPath: folder.file("..data"), withDestinationPath: "..2024_01")
                try fm.createSymbolicLink(atPath: folder.file("tls.crt"), withDestinationPath: "..data/tls.crt")
            }, watching: ["tls.crt"])
        defer { harness.stop() }

        try fm.createDirectory(atPath: harness.path("..2024_02"), withIntermediateDirectories: true)
        try harness.folder.write("..2024_02/tls.crt", "cert two")
        try fm.createSymbolicLink(atPath: harness.path("..data_tmp"), withDestinationPath: "..2024_02")
        #expect(rename(harness.path("..data_tmp"), harness.path("..data")) == 0)
        try fm.removeItem(atPath: harness.path("..2024_01"))
        #expect(await eventually { harness.changedPaths == [harness.path("tls.crt")] })
        #expect(harness.errors.all.isEmpty)
    }

    @Test func deletionIsNoChangeAndRecreationIs() async throws {
        let harness = try Harness(files: [("a.yaml", "one")], watching: ["a.yaml"])
        defer { harness.stop() }
        let path = harness.path("a.yaml")
        #expect(try await harness.deleteAndAwaitError("a.yaml"))
        #expect(try await harness.settle())
        #expect(harness.errors.all == ["\(path): No such file or directory"], "reported once, not on every poll")
        #expect(harness.changes.all.isEmpty, "a missing file counts as unchanged")
        try harness.folder.write("a.yaml", "two")
        #expect(await eventually { harness.changedPaths == [path] })
    }

    @Test func recreationWithTheSameBytesIsNoChange() async throws {
        let harness = try Harness(files: [("a.yaml", "same")], watching: ["a.yaml"])
        defer { harness.stop() }
        let path = harness.path("a.yaml")
        #expect(try await harness.deleteAndAwaitError("a.yaml"))
        try harness.folder.write("a.yaml", "same")  // a new inode, the same content
        #expect(try await harness.settle())
        #expect(harness.changes.all.isEmpty)
        try harness.folder.write("a.yaml", "different")
        #expect(await eventually { harness.changedPaths == [path] })
    }

    @Test func fileMissingAtStartIsReportedAndItsArrivalIsAChange() async throws {
        let harness = try Harness(watching: ["late.yaml"])
        defer { harness.stop() }
        let path = harness.path("late.yaml")
        #expect(harness.errors.all == ["\(path): No such file or directory"])
        try harness.folder.write("late.yaml", "here")
        #expect(await eventually { harness.changedPaths == [path] })
    }

    @Test func onlyTheChangedFileIsReported() async throws {
        let harness = try Harness(files: [("a", "a"), ("b", "b")], watching: ["a", "b", "a"])
        defer { harness.stop() }
        #expect(harness.watcher.paths == [harness.path("a"), harness.path("b"), harness.marker])
        try harness.folder.write("b", "b2")
        #expect(await eventually { harness.changedPaths == [harness.path("b")] })
        #expect(try await harness.settle())
        #expect(harness.changes.all == [[harness.path("b")]], "one change, reported once")
    }

    @Test func nothingIsReportedAfterStop() async throws {
        let harness = try Harness(files: [("a", "a")], watching: ["a"])
        defer { harness.folder.remove() }
        try harness.folder.write("a", "a2")
        #expect(await eventually { harness.changes.all.count == 1 })
        harness.watcher.stop()
        // A second watcher of the same file, still running, shows when the next write was seen.
        let witnessed = Recorder<[String]>()
        let witness = FileWatcher(paths: [harness.path("a")], interval: .milliseconds(20)) { witnessed.append($0) }
        witness.start()
        defer { witness.stop() }
        try harness.folder.write("a", "a3")
        #expect(await eventually { witnessed.all.count == 1 })
        #expect(harness.changes.all.count == 1)
    }
}
