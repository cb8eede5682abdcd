import Foundation
import MeshgateLoad
import Testing
import MeshgateTestKit

#if canImport(Glibc)
    import Glibc
#endif

/// Route ports that never move (issue 11, case 1), with real gateway processes: east mirrors
/// 15 services of west and one of north, exactly filling its 16 outbound ports.
extension TLSEndToEnd {
    @Suite struct RoutePortStabilityTests {
        static let westNames = (0..<15).map { String(format: "svc%02d", $0) }
        static let northKey = "default/echo-north:7000"
        static func westKey(_ name: String) -> String { "default/\(name)-west:7000" }
        static var allKeys: [String] { westNames.map(westKey) + [northKey] }

        static func westServices(_ names: [String], echo: BackendServer) -> [ServiceSpec] {
            names.map { ServiceSpec(name: $0, ports: [(7000, echo.port)], endpoints: ["127.0.0.1:\(echo.port)"]) }
        }

        /// `link <cluster>: route <key> on 127.0.0.1:<port>` and `route <key> on 127.0.0.1:<port> (had waited…)`
        /// lines of one east process: the last port of each key.
        static func table(_ east: GatewayProcess) -> [String: UInt16] {
            var out: [String: UInt16] = [:]
            for line in east.logLines(containing: ": route ") + east.logLines(containing: "(had waited for a port)") {
                guard let r = line.range(of: #"route (\S+) on 127\.0\.0\.1:(\d+)"#, options: .regularExpression) else { continue }
                let parts = line[r].split(separator: " ")
                guard parts.count == 4, let colon = parts[3].lastIndex(of: ":"),
                    let port = UInt16(parts[3][parts[3].index(after: colon)...])
                else {
                    continue
                }
                out[String(parts[1])] = port
            }
            return out
        }

        /// Waits (≤ `timeout`) until east's log holds a port for every key.
        static func waitTable(_ mesh: MirrorMesh, keys: [String], timeout: Double = 20) -> [String: UInt16] {
            var t: [String: UInt16] = [:]
            _ = waitUntil(timeout: timeout) {
                t = table(mesh.east)
                return keys.allSatisfy { t[$0] != nil }
            }
            return t
        }

        @Test(
            "east restarted 5× with the same config and links (links arriving in different orders) gets the same route→port table; a withdrawn route comes back on its port, a stale client is refused meanwhile, never misrouted"
        )
        func portsDoNotMove() throws {
            let mesh = try MirrorMesh(label: "route-ports")
            defer { mesh.shutdown() }
            try writeAtomically(GatewayYAML.registry(Self.westServices(Self.westNames, echo: mesh.westEcho)), to: mesh.registryPath("west"))
            // west must export the 15 services (not its first registry) before east links: a
            // route withdrawn later would hold its port and leave north's without one.
            try #require(mesh.west.waitLog("route table generation 2:", timeout: 10), "west reloaded its registry\n\(mesh.west.logTail)")
            mesh.eastExtra = "stateDir: state\n"
            #expect(mesh.east.stop() == 0)
            try mesh.restart("east")
            try mesh.link()
            let first = Self.waitTable(mesh, keys: Self.allKeys)
            try #require(Set(first.keys) == Set(Self.allKeys), "all 16 routes listen: \(first)\n\(mesh.logs)")
            #expect(Set(first.values).count == 16 && first.values.allSatisfy { mesh.ports.eastRange.contains($0) })
            #expect(FileManager.default.fileExists(atPath: mesh.folder("east") + "/state/route-ports.json"))

            // Restarts: in turn west's or north's link arrives first (the other gateway is
            // stopped while east starts and links).
            for round in 1...5 {
                #expect(mesh.east.stop() == 0, "round \(round): east stops cleanly\n\(mesh.east.logTail)")
                let late = round % 2 == 0 ? mesh.west! : mesh.north!
                late.process.signal(SIGSTOP)
                try mesh.restart("east")
                let early = round % 2 == 0 ? Self.allKeys.filter { $0.hasSuffix("-north:7000") } : Self.westNames.map(Self.westKey)
                _ = Self.waitTable(mesh, keys: early, timeout: 10)
                late.process.signal(SIGCONT)
                let table = Self.waitTable(mesh, keys: Self.allKeys)
                #expect(table == first, "round \(round): the same table after a restart\n\(table)\nvs\n\(first)\n\(mesh.east.logTail)")
            }

            // Withdraw svc03: its port is held for it; a client of the old port is refused.
            let held = try #require(first[Self.westKey("svc03")])
            let without = Self.westNames.filter { $0 != "svc03" }
            try writeAtomically(GatewayYAML.registry(Self.westServices(without, echo: mesh.westEcho)), to: mesh.registryPath("west"))
            #expect(mesh.east.waitLog("route \(Self.westKey("svc03")) removed", timeout: 10), "\(mesh.logs)")
            #expect(waitUntil(timeout: 3) { LoopbackPorts.connectErrno(held) == ECONNREFUSED }, "the withdrawn route's port is refused")
            // A new service meanwhile: the only free port is svc03's, held: it waits, and the
            // stale client is still refused (never reaches the new service).
            try writeAtomically(
                GatewayYAML.registry(Self.westServices(without + ["fresh"], echo: mesh.westEcho)), to: mesh.registryPath("west"))
            #expect(
                mesh.east.waitLog("route \(Self.westKey("fresh")) has no listener: no free port", timeout: 10),
                "the new route waits for a port\n\(mesh.east.logTail)")
            usleep(1_500_000)  // a retry tick or more
            #expect(LoopbackPorts.connectErrno(held) == ECONNREFUSED, "a stale client of svc03 is refused, never misrouted")
            #expect(Self.table(mesh.east)[Self.westKey("fresh")] == nil)

            // svc03 comes back (and fresh goes): on its old port.
            try writeAtomically(GatewayYAML.registry(Self.westServices(Self.westNames, echo: mesh.westEcho)), to: mesh.registryPath("west"))
            let back = waitUntil(timeout: 10) {
                Self.table(mesh.east)[Self.westKey("svc03")] == held && LoopbackPorts.connectErrno(held) == 0
            }
            #expect(back, "svc03 is back on \(held)\n\(mesh.east.logTail)")
            let intact = MirrorTraffic.waitIntact(held, timeout: 5)
            #expect(intact.ok, "svc03 carries traffic again: \(intact.last)")
            #expect(mesh.east.logLines(containing: "has no listener").count <= 2, "failures are logged per burst, not per route")
        }
    }
}
