import Foundation
import MeshgateAdmin
import MeshgateControl
import MeshgateLoad
import MeshgateWire
import Testing
import MeshgateTestKit

/// Port names across real gateways (part of the mirror suite, same `MirrorMesh`): west's registry
/// names its ports; east's mirror asks for names and `/status` shows them on the mirrored routes;
/// a mirror speaking the header without the options field (an `openssl s_client` sending the old
/// bytes) still gets plain `upsert` frames, and one that asks gets `upsertNamed`.
extension TLSEndToEnd.MirrorIntegrationTests {
    /// west's registry: echo with a named port 7000 and an unnamed 7001 (same backend).
    static func namedWestRegistry(echo: UInt16, name: String) -> String {
        """
        services:
          - namespace: default
            name: echo
            ports: [{port: 7000, targetPort: \(echo), name: \(name)}, {port: 7001, targetPort: \(echo)}]
            endpoints: ["127.0.0.1:\(echo)"]
            exported: true

        """
    }

    /// The frames in `bytes` up to the first snapshotEnd (nil until it has arrived).
    static func snapshotFrames(_ bytes: [UInt8]) -> [DiscoveryMessage]? {
        var offset = 0
        var frames: [DiscoveryMessage] = []
        while true {
            let result = bytes.withUnsafeBytes { DiscoveryMessage.decode(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            guard case .complete(let m, let consumed) = result else { return nil }
            offset += consumed
            if case .snapshotEnd = m { return frames }
            if case .snapshotBegin = m { continue }
            frames.append(m)
        }
    }

    /// A discover stream opened by `openssl s_client` as north's gateway with `header`: the
    /// snapshot's frames (≤ 10 s).
    static func rawDiscover(_ mesh: MirrorMesh, header: TransportHeader) throws -> [DiscoveryMessage] {
        let pki = try GatewayPKI.shared()
        let client = try GatewayTLSClient.start(port: mesh.ports.westInbound, identity: pki.gateway("north"), trust: pki.gateway("north").trust)
        defer { client.kill() }
        try client.writeStdin(try header.encoded())
        var frames: [DiscoveryMessage]?
        _ = waitUntil(timeout: 10) {
            frames = Self.snapshotFrames(Array(client.stdoutData))
            return frames != nil
        }
        guard let frames else { throw TestFailure("no whole snapshot from west within 10 s: \(client.stderrText)\n\(mesh.west.logTail)") }
        return frames
    }

    @Test("port names: west's named port reaches east's mirror (/status portName) and a rename follows; old-style discover headers get plain upserts")
    func portNamesTravel() throws {
        let mesh = try MirrorMesh(label: "mirror-port-names")
        defer { mesh.shutdown() }
        let echo = mesh.westEcho.port
        try writeAtomically(Self.namedWestRegistry(echo: echo, name: "tcp-echo"), to: mesh.registryPath("west"))
        // east with an admin listener, to read /status.
        let adminPort = try LoopbackPorts.freeBlock(count: 1)
        let admin = "127.0.0.1:\(adminPort)"
        mesh.eastExtra = "admin: {listen: \(admin)}\n"
        #expect(mesh.east.stop() == 0)
        try mesh.restart("east")
        try mesh.link()
        // 7001 exists only in the named registry: once east routes it, west has reloaded.
        try #require(mesh.waitRoute("default/echo-west:7001", cluster: "west") != nil, "east mirrors echo:7001\n\(mesh.logs)")

        func portNames() -> [String: String?]? {
            guard let status = try? AdminClient.status(admin) else { return nil }
            var out: [String: String?] = [:]
            for r in status.routes where r.source == .mirror { out[r.key] = r.portName }
            return out
        }
        var seen: [String: String?]? = nil
        let named = waitUntil(timeout: 10) {
            seen = portNames()
            // north's route may come a moment after west's: wait for both.
            return seen?["default/echo-west:7000"] == .some("tcp-echo") && seen?["default/echo-north:7000"] != nil
        }
        #expect(named, "east's /status names echo-west:7000 tcp-echo: \(String(describing: seen))\n\(mesh.logs)")
        #expect(seen?["default/echo-west:7001"] == .some(nil), "7001 is unnamed: \(String(describing: seen))")
        #expect(seen?["default/echo-north:7000"] == .some(nil), "north names no port: \(String(describing: seen))")
        #expect(
            mesh.west.waitLog("discover stream from east (\(GatewayPKI.gatewayIdentity("east"))) with port names: 1 service(s)", timeout: 5),
            "west logged a stream with port names\n\(mesh.west.logTail)")

        // A rename on west reaches east (the routes stay; only the name changes).
        try writeAtomically(Self.namedWestRegistry(echo: echo, name: "echo-v2"), to: mesh.registryPath("west"))
        let renamed = waitUntil(timeout: 10) {
            seen = portNames()
            return seen?["default/echo-west:7000"] == .some("echo-v2")
        }
        #expect(renamed, "the rename reached east: \(String(describing: seen))\n\(mesh.logs)")

        // The old header (no tag 128): plain upserts, byte for byte what gateways sent before names.
        let plain = try Self.rawDiscover(mesh, header: .discover(cluster: "north"))
        let echoPlain = plain.first { $0.service?.name == "echo" }
        #expect(echoPlain == .upsert(DiscoveredService(namespace: "default", name: "echo", ports: [7000, 7001])), "\(plain)")
        #expect(plain.allSatisfy { if case .upsert = $0 { true } else { false } }, "only plain upserts: \(plain)")
        // Asking for names: upsertNamed frames.
        let asked = try Self.rawDiscover(mesh, header: .discover(cluster: "north", options: .portNames))
        let echoNamed = asked.first { $0.service?.name == "echo" }
        #expect(
            echoNamed == .upsertNamed(DiscoveredService(namespace: "default", name: "echo", ports: [7000, 7001], portNames: ["echo-v2", ""])),
            "\(asked)")
        #expect(asked.allSatisfy { if case .upsertNamed = $0 { true } else { false } }, "only upsertNamed: \(asked)")
    }
}
