import Foundation
import Testing

@testable import MeshgateControl

@Suite struct ReloadingFileTests {
    static let one = "services: [{namespace: default, name: redis, ports: [6379]}]\n"
    static let two = "services: [{namespace: default, name: redis, ports: [6379]}, {namespace: default, name: pg, ports: [5432]}]\n"

    @Test func keepsTheLastGoodValueAndReportsBrokenEdits() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("registry.yaml")
        try folder.write("registry.yaml", Self.one)
        let reloads = Recorder<Registry>()
        let errors = Recorder<ConfigErrors>()
        let registry = try Registry.reloading(
            path: path, interval: .milliseconds(20), onReload: { reloads.append($0) },
            onError: { errors.append($0) })
        registry.start()
        defer { registry.stop() }
        #expect(registry.current.services.count == 1)
        #expect(registry.generation == 1)

        try folder.write("registry.yaml", Self.two)
        #expect(await waitUntil { registry.current.services.count == 2 })
        #expect(reloads.all.last?.services.count == 2)
        #expect(registry.generation == 2)

        try folder.write("registry.yaml", "services:\n  - namespace: default\n    name: redis\n    ports: [99999]\n")
        #expect(await waitUntil { !errors.all.isEmpty })
        #expect(errors.all.first?.description == "\(path):4: services[0].ports[0]: port 99999 out of range")
        #expect(registry.lastErrors == errors.all.first)
        #expect(registry.current.services.count == 2, "the broken edit leaves the last good value")
        #expect(registry.generation == 2)

        try folder.write("registry.yaml", Self.one)
        #expect(await waitUntil { registry.current.services.count == 1 })
        #expect(registry.lastErrors == nil)
        #expect(registry.generation == 3)
    }

    @Test func aDeletedFileKeepsTheValueAndIsReportedOnce() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("registry.yaml")
        try folder.write("registry.yaml", Self.one)
        let errors = Recorder<ConfigErrors>()
        let registry = try Registry.reloading(
            path: path, interval: .milliseconds(20), onError: { errors.append($0) })
        registry.start()
        defer { registry.stop() }
        try FileManager.default.removeItem(atPath: path)
        #expect(await waitUntil { !errors.all.isEmpty })
        try await Task.sleep(for: .milliseconds(200))
        #expect(errors.all.map(\.description) == ["\(path): No such file or directory"])
        #expect(registry.current.services.count == 1)
    }

    @Test func aBrokenFileAtStartThrows() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("registry.yaml", "services: [\n")
        #expect(throws: ConfigErrors.self) {
            try Registry.reloading(path: folder.file("registry.yaml"))
        }
    }

    @Test func reloadReadsAgainOnDemand() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("registry.yaml", Self.one)
        let registry = try Registry.reloading(path: folder.file("registry.yaml"))
        try folder.write("registry.yaml", Self.two)
        #expect(registry.current.services.count == 1, "not started: nothing is watched")
        #expect(registry.reload())
        #expect(registry.current.services.count == 2)
        try folder.write("registry.yaml", "nonsense: 1\n")
        #expect(!registry.reload())
        #expect(registry.current.services.count == 2)
    }

    @Test func severalFilesMakeOneValue() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("cert", "c1")
        try folder.write("key", "k1")
        let cert = folder.file("cert")
        let key = folder.file("key")
        let pair = try ReloadingFile<String>(paths: [cert, key], interval: .milliseconds(20)) { () throws(ConfigErrors) -> String in
            let c = try ConfigFile.read(path: cert)
            let k = try ConfigFile.read(path: key)
            return c + "+" + k
        }
        pair.start()
        defer { pair.stop() }
        #expect(pair.current == "c1+k1")
        try folder.write("key", "k2")
        #expect(await waitUntil { pair.current == "c1+k2" })
    }
}
