import Foundation
import MeshgateLoop
import MeshgateTLS
import MeshgateWire
import Testing
@testable import MeshgateDiscovery
@testable import MeshgateProxy

/// Port names on `discover` streams: a mirror that asked (`DiscoverOptions.portNames`) gets
/// `upsertNamed` frames, any other plain `upsert` frames.
@Suite(.serialized) struct DiscoveryServerPortNameTests {
    typealias T = DiscoveryServerTests

    static func named(_ name: String, _ ports: [UInt16: String], extra: [UInt16] = []) -> ExportedService {
        let all = Array(ports.keys) + extra
        return ExportedService(
            namespace: "default", name: name, exported: true, allowed: nil,
            endpoints: Dictionary(uniqueKeysWithValues: all.map { ($0, [T.endpoint]) }), portNames: ports)
    }

    /// The snapshot's frames between begin and end, as sent.
    static func snapshotFrames(_ reader: T.FrameReader) throws -> [DiscoveryMessage] {
        guard case .snapshotBegin? = try reader.next() else { throw StreamTestPair.Failure(description: "no snapshotBegin") }
        var frames: [DiscoveryMessage] = []
        while true {
            guard let m = try reader.next() else { throw StreamTestPair.Failure(description: "the stream ended") }
            if case .snapshotEnd = m { return frames }
            frames.append(m)
        }
    }

    @Test("a mirror that asks for names gets upsertNamed frames with them; one that does not gets plain upserts")
    func namesOnlyToMirrorsThatAsk() throws {
        let h = try T.Harness(keepalive: .seconds(5))
        h.publish([
            Self.named("redis", [6379: "redis", 9121: "metrics"]),
            Self.named("web", [:], extra: [80]),
        ])
        let asking = try h.open(options: .portNames)
        defer { asking.stream.close() }
        let plain = try h.open()
        defer { plain.stream.close() }

        #expect(try Self.snapshotFrames(asking) == [
            .upsertNamed(DiscoveredService(namespace: "default", name: "redis", ports: [6379, 9121], portNames: ["redis", "metrics"])),
            .upsertNamed(DiscoveredService(namespace: "default", name: "web", ports: [80], portNames: [""])),
        ])
        #expect(try Self.snapshotFrames(plain) == [
            .upsert(DiscoveredService(namespace: "default", name: "redis", ports: [6379, 9121])),
            .upsert(DiscoveredService(namespace: "default", name: "web", ports: [80])),
        ])

        // A rename only: the asking mirror gets an upsertNamed, the plain one sees no change at all.
        h.publish([
            Self.named("redis", [6379: "tcp-redis", 9121: "metrics"]),
            Self.named("web", [:], extra: [80]),
        ])
        #expect(try asking.nextChange() == .upsertNamed(
            DiscoveredService(namespace: "default", name: "redis", ports: [6379, 9121], portNames: ["tcp-redis", "metrics"])))
        let plainFrames = try plain.frames(seconds: 0.5)
        #expect(plainFrames.allSatisfy { $0 == .keepalive }, "\(plainFrames)")
    }

    @Test("names that break the rule or repeat go to an asking mirror as unnamed ports; the service and its other names still go")
    func badNamesAreSentUnnamed() throws {
        let h = try T.Harness(keepalive: .seconds(5))
        // Built in code (the registry file refuses these; a Kubernetes Service port name may be a
        // DNS label up to 63 characters): an invalid name, a too-long one, a repeated one.
        h.publish([
            Self.named("bad", [1: "Not_A_Name", 2: "http"]),
            Self.named("long", [1: "a-kubernetes-dns-label-name"]),
            Self.named("twice", [1: "same", 2: "same"]),
        ])
        let asking = try h.open(options: .portNames)
        defer { asking.stream.close() }
        #expect(try Self.snapshotFrames(asking) == [
            .upsertNamed(DiscoveredService(namespace: "default", name: "bad", ports: [1, 2], portNames: ["", "http"])),
            .upsertNamed(DiscoveredService(namespace: "default", name: "long", ports: [1], portNames: [""])),
            .upsertNamed(DiscoveredService(namespace: "default", name: "twice", ports: [1, 2], portNames: ["same", ""])),
        ])
    }

    @Test("visible(_:to:named:) gives names parallel to the sorted ports only when asked")
    func visibleNames() throws {
        let h = try T.Harness()
        h.publish([Self.named("redis", [9121: "metrics", 6379: "redis"], extra: [26379])])
        let named = DiscoverServerSession.visible(h.publisher.snapshot, to: StreamTestPKI.westIdentity, named: true)
        #expect(named["default/redis"]?.ports == [6379, 9121, 26379])
        #expect(named["default/redis"]?.portNames == ["redis", "metrics", ""])
        let plain = DiscoverServerSession.visible(h.publisher.snapshot, to: StreamTestPKI.westIdentity)
        #expect(plain["default/redis"]?.portNames == ["", "", ""])
    }
}
