import Foundation
import MeshgateAdmin
import MeshgateControl
import MeshgateLoad
import Testing
import MeshgateTestKit

#if canImport(Glibc)
    import Glibc
#endif

/// `meshgate gateways` and `meshgate routes` against real `meshgate gateway` processes: west
/// exports two services, east links to west with a bundle made by `meshgate link` and also has
/// a static route to west. What the commands print is checked against what is true: the link
/// answering or not, west's exports, the ports the routes listen on (and carry traffic through).
@Suite("meshgate gateways / routes (admin endpoint)", .serialized)
struct AdminCommandTests {
    /// The two gateways, each with its own admin.listen.
    final class Pair {
        let dir: String
        let base: UInt16
        let echo: BackendServer
        private(set) var west: GatewayProcess!
        private(set) var east: GatewayProcess!

        var westInbound: UInt16 { base }
        var eastInbound: UInt16 { base + 1 }
        var westAdmin: UInt16 { base + 2 }
        var eastAdmin: UInt16 { base + 3 }
        /// east's static route's fixed listen port.
        var staticPort: UInt16 { base + 4 }
        /// A port nothing listens on.
        var closedPort: UInt16 { base + 5 }
        var eastRange: ClosedRange<UInt16> { (base + 6)...(base + 11) }
        var westRange: ClosedRange<UInt16> { (base + 12)...(base + 13) }

        init(label: String) throws {
            ProcessResources.ignoreSIGPIPE()
            dir = try makeTestDirectory(label)
            base = try LoopbackPorts.freeBlock(count: 14)
            echo = try BackendServer(behavior: .echo)
            do {
                for sub in ["west", "east", "east/links"] {
                    try FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true)
                }
                let services = [
                    ServiceSpec(name: "echo", ports: [(7000, echo.port)], endpoints: ["127.0.0.1:\(echo.port)"]),
                    ServiceSpec(name: "cache", ports: [(6379, echo.port), (6380, echo.port)], endpoints: ["127.0.0.1:\(echo.port)"]),
                    ServiceSpec(name: "private", ports: [(7000, echo.port)], endpoints: ["127.0.0.1:\(echo.port)"], exported: false),
                ]
                try writeAtomically(GatewayYAML.registry(services), to: "\(dir)/west/registry.yaml")
                try writeAtomically(GatewayYAML.registry([]), to: "\(dir)/east/registry.yaml")
                let pki = try GatewayPKI.shared()
                let westConfig =
                    GatewayYAML.gateway(
                        cluster: "west", identity: pki.gateway("west"), inbound: westInbound, outbound: westRange,
                        registry: "registry.yaml") + "admin: {listen: 127.0.0.1:\(westAdmin)}\n"
                west = try GatewayProcess(cluster: "west", directory: "\(dir)/west", config: westConfig, inboundPort: westInbound)
                // east: a static route to west's echo, and a link to west.
                let route = RouteSpec(
                    name: "echo-static", port: 7000, cluster: "west", gateways: ["127.0.0.1:\(westInbound)"],
                    target: ("default", "echo", 7000), listen: "127.0.0.1:\(staticPort)")
                let eastConfig =
                    GatewayYAML.gateway(
                        cluster: "east", identity: pki.gateway("east"), inbound: eastInbound, outbound: eastRange,
                        registry: "registry.yaml", routes: [route],
                        links: "{dir: links, probe: {interval: 1s, timeout: 500ms, failureThreshold: 3}}")
                    + "admin: {listen: 127.0.0.1:\(eastAdmin)}\n"
                let bundle = try Self.meshgate(["link", "--config", "\(dir)/west/gateway.yaml"])
                guard bundle.status == 0 else { throw TestFailure("meshgate link: \(bundle.stderr)") }
                try writeAtomically(bundle.stdout, to: "\(dir)/west.link.yaml")
                east = try GatewayProcess(cluster: "east", directory: "\(dir)/east", config: eastConfig, inboundPort: eastInbound)
                let add = try Self.meshgate(["link", "add", "\(dir)/west.link.yaml", "--config", "\(dir)/east/gateway.yaml"])
                guard add.status == 0 else { throw TestFailure("meshgate link add: \(add.stderr)") }
            } catch {
                shutdown()
                throw error
            }
        }

        static func meshgate(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try ChildProcess.run([MeshgateProcess.binary] + arguments, timeout: 30)
        }

        /// The port east logged for a mirrored route (`link west: route KEY on 127.0.0.1:PORT`).
        func waitMirroredRoute(_ key: String, timeout: Double = 15) -> UInt16? {
            let marker = "link west: route \(key) on 127.0.0.1:"
            guard east.waitLog(marker, timeout: timeout), let line = east.logLines(containing: marker).last,
                let r = line.range(of: marker)
            else { return nil }
            return UInt16(line[r.upperBound...].prefix { $0.isNumber })
        }

        var logs: String { [east, west].compactMap { $0?.logTail }.joined(separator: "\n---\n") }

        func shutdown() {
            for p in [east, west] {
                guard let p, p.process.process.isRunning else { continue }
                p.process.signal(SIGKILL)
                _ = p.process.waitExit(timeout: 10)
            }
            echo.stop()
            try? FileManager.default.removeItem(atPath: dir)
        }

        deinit { shutdown() }
    }

    /// Table rows (header first), cells split on runs of 2+ spaces.
    static func rows(_ table: String) -> [[String]] {
        table.split(separator: "\n").map { line in
            line.components(separatedBy: "   ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    /// One round trip through `port` on a connection kept open; the descriptor (close it).
    static func openEcho(_ port: UInt16) throws -> Int32 {
        let fd = try TestClient.connect(Endpoint(host: "127.0.0.1", port: port), timeout: .seconds(5))
        let hello = Array("ping through the gateway\n".utf8)
        try TestClient.writeAll(fd: fd, bytes: hello, timeout: .seconds(5))
        let back = TestClient.read(fd: fd, count: hello.count, timeout: .seconds(5))
        guard back == hello else {
            close(fd)
            throw TestFailure("no echo through 127.0.0.1:\(port) (got \(back.count) bytes)")
        }
        return fd
    }

    @Test("gateways and routes show the link alive with west's exports, and routes on the ports that carry traffic; then west dies")
    func gatewaysAndRoutes() throws {
        let pair = try Pair(label: "admin-cli")
        defer { pair.shutdown() }
        let admin = ["--admin", "127.0.0.1:\(pair.eastAdmin)"]
        let mirrored = try #require(pair.waitMirroredRoute("default/echo-west:7000"), "east mirrored west's echo:\n\(pair.logs)")
        #expect(pair.waitMirroredRoute("default/cache-west:6380") != nil, "and both ports of cache")

        // gateways (table): one row, west alive, 2 services (echo, cache; private is not exported),
        // latency once a probe has been answered.
        var table = ""
        let answered = waitUntil(timeout: 10) {
            guard let run = try? Pair.meshgate(["gateways"] + admin), run.status == 0 else { return false }
            table = run.stdout
            let rows = Self.rows(table)
            return rows.count == 2 && rows[1].count >= 5 && rows[1][3] != "-" && rows[1][4] != "-"
        }
        #expect(answered, "a probe answered:\n\(table)\n\(pair.logs)")
        let g = Self.rows(table)
        #expect(g.first == ["CLUSTER", "ALIVE", "NUM_SVC", "LATENCY", "POOL", "LAST_ERROR"])
        let row = try #require(g.dropFirst().first)
        #expect(row.count == 6, "\(row)")
        #expect(row[0] == "west")
        #expect(row[1] == "True")
        #expect(row[2] == "2")
        #expect(row[3].range(of: #"^[0-9]+(\.[0-9])?ms/[0-9]+(\.[0-9])?ms$"#, options: .regularExpression) != nil, "p50/p99: \(row[3])")
        // The warm pool is on by default: connections ready (or refilling), no failure.
        #expect(row[4].range(of: #"^[0-9]+ ready(, [0-9]+/[0-9]+ hits)?$"#, options: .regularExpression) != nil, "pool: \(row[4])")

        // gateways (json): the links part of /status.
        let json = try Pair.meshgate(["gateways", "--output", "json"] + admin)
        #expect(json.status == 0)
        let links = try GatewayStatus.decoder().decode([LinkStatus].self, from: Data(json.stdout.utf8))
        #expect(links.count == 1)
        let link = try #require(links.first)
        #expect(link.cluster == "west" && link.alive && link.synced && link.services == 2)
        #expect(link.gateways == ["127.0.0.1:\(pair.westInbound)"])
        #expect(link.liveGateways == ["127.0.0.1:\(pair.westInbound)"])
        #expect(link.probes.answered >= 1)
        #expect(link.latency.p50Ms != nil && link.latency.p99Ms != nil && link.latency.lastMs != nil)
        let pool = try #require(link.pool, "the link's pool in /status")
        #expect(pool.opened >= 1 && pool.failed == 0 && pool.lost == 0, "\(pool)")

        // routes (table): the static route and the three mirrored ones, on the ports east listens on.
        let fd = try Self.openEcho(mirrored)
        defer { close(fd) }
        #expect(try Self.openEchoAndClose(pair.staticPort), "the static route carries traffic")
        let routes = try Pair.meshgate(["routes"] + admin)
        #expect(routes.status == 0, "\(routes.stderr)")
        let r = Self.rows(routes.stdout)
        #expect(r.first == ["NAME", "LISTEN", "CLUSTER", "TARGET", "STATE", "ACTIVE"])
        let byName = Dictionary(r.dropFirst().map { ($0[0], $0) }, uniquingKeysWith: { a, _ in a })
        #expect(
            Set(byName.keys) == [
                "default/echo-static:7000", "default/echo-west:7000", "default/cache-west:6379", "default/cache-west:6380",
            ])
        let echoRow = try #require(byName["default/echo-west:7000"])
        #expect(Array(echoRow.prefix(5)) == ["default/echo-west:7000", "127.0.0.1:\(mirrored)", "west", "default/echo:7000", "up"])
        // ACTIVE: `-` while the data plane gives no traffic figures, else the open connection.
        #expect(["-", "1"].contains(echoRow.last ?? ""), "ACTIVE of the route with one open connection: \(echoRow)")
        let staticRow = try #require(byName["default/echo-static:7000"])
        #expect(
            Array(staticRow.prefix(5)) == ["default/echo-static:7000", "127.0.0.1:\(pair.staticPort)", "west", "default/echo:7000", "up"])
        for (key, row) in byName where key.hasPrefix("default/cache-west:") {
            #expect(row[1].hasPrefix("127.0.0.1:"))
            let port = UInt16(row[1].dropFirst("127.0.0.1:".count)) ?? 0
            #expect(pair.eastRange.contains(port), "\(key) listens on a port of outbound.ports")
            #expect(LoopbackPorts.connectErrno(port) == 0, "\(key)'s listener is there")
            #expect(row[3] == "default/cache:\(key.split(separator: ":").last!)")
        }

        // routes (json): the routes part of /status, with where each came from.
        let routesJSON = try Pair.meshgate(["routes", "--output", "json"] + admin)
        let decoded = try GatewayStatus.decoder().decode([RouteStatus].self, from: Data(routesJSON.stdout.utf8))
        #expect(decoded.map(\.key) == decoded.map(\.key).sorted())
        #expect(decoded.first { $0.key == "default/echo-static:7000" }?.source == .static)
        #expect(
            decoded.filter { $0.source == .mirror }.map(\.key).sorted() == [
                "default/cache-west:6379", "default/cache-west:6380", "default/echo-west:7000",
            ])
        #expect(decoded.first { $0.key == "default/echo-west:7000" }?.listen == "127.0.0.1:\(mirrored)")

        // west has no links and no routes.
        let westAdmin = ["--admin", "127.0.0.1:\(pair.westAdmin)"]
        #expect(
            try Pair.meshgate(["gateways"] + westAdmin).stdout
                == "no linked clusters (gateway of cluster west; `meshgate link add` adds one)\n")
        #expect(try Pair.meshgate(["routes"] + westAdmin).stdout == "no routes (gateway of cluster west)\n")
        let noRoutes = try Pair.meshgate(["routes", "--output", "json"] + westAdmin)
        #expect(try GatewayStatus.decoder().decode([RouteStatus].self, from: Data(noRoutes.stdout.utf8)).isEmpty)

        // west dies: east's link goes down; gateways says False with the last error, its
        // mirrored routes are down (the static one has no probe and stays up).
        pair.west.process.signal(SIGKILL)
        _ = pair.west.process.waitExit(timeout: 10)
        var down = ""
        let wentDown = waitUntil(timeout: 20) {
            guard let run = try? Pair.meshgate(["gateways"] + admin) else { return false }
            down = run.stdout
            return Self.rows(down).dropFirst().first?[1] == "False"
        }
        #expect(wentDown, "west is reported down:\n\(down)\n\(pair.logs)")
        let downRow = Self.rows(down).dropFirst().first ?? []
        #expect(downRow.count == 6 && downRow[5] != "-", "LAST_ERROR says why: \(downRow)")
        #expect(downRow.count == 6 && downRow[2] == "2", "services stay as last known")
        #expect(downRow.count == 6 && downRow[4].hasPrefix("0 ready"), "the pool drained with the link: \(downRow)")
        let after = Self.rows(try Pair.meshgate(["routes"] + admin).stdout)
        for row in after.dropFirst() {
            let expected = row[0] == "default/echo-static:7000" ? "up" : "down"
            #expect(row[4] == expected, "\(row)")
        }
        #expect(MirrorTraffic.refusal(mirrored).fast(), "a route shown down really refuses at once")
    }

    /// Connects through `port`, does one echo round trip, closes; true when it echoed.
    static func openEchoAndClose(_ port: UInt16) throws -> Bool {
        let fd = try openEcho(port)
        close(fd)
        return true
    }

    @Test("an unreachable admin endpoint is a clear error and exit 1; bad options exit 2")
    func unreachable() throws {
        let port = try LoopbackPorts.freeBlock(count: 1)
        for command in ["gateways", "routes"] {
            let run = try ChildProcess.run(
                [MeshgateProcess.binary, command, "--admin", "127.0.0.1:\(port)", "--timeout", "2s"], timeout: 30)
            #expect(run.status == 1, "\(command): \(run.stderr)")
            #expect(run.stdout.isEmpty)
            #expect(
                run.stderr.hasPrefix("meshgate: error: admin endpoint 127.0.0.1:\(port): cannot connect: Connection refused"),
                "\(run.stderr)")
            #expect(run.stderr.contains("admin.listen"), "says what to check: \(run.stderr)")
        }
        let badOutput = try ChildProcess.run([MeshgateProcess.binary, "routes", "--output", "yaml"], timeout: 30)
        #expect(badOutput.status == 2, "\(badOutput.stderr)")
        let badAddress = try ChildProcess.run([MeshgateProcess.binary, "gateways", "--admin", "localhost"], timeout: 30)
        #expect(badAddress.status == 2)
        #expect(badAddress.stderr.contains("--admin 'localhost'"), "\(badAddress.stderr)")
    }

    @Test("meshgate gateway: admin.listen already in use stops the start with an error naming admin.listen")
    func adminPortInUse() throws {
        let dir = try makeTestDirectory("admin-inuse")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = try LoopbackPorts.freeBlock(count: 4)
        // Something else holds the admin port.
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        let bound = try LoopbackSocket.bind(holder, port: base + 1)
        #expect(bound == 0 && listen(holder, 1) == 0)
        let config =
            GatewayYAML.gateway(
                cluster: "west", identity: try GatewayPKI.shared().gateway("west"), inbound: base, outbound: (base + 2)...(base + 3))
            + "admin: {listen: 127.0.0.1:\(base + 1)}\n"
        try writeAtomically(config, to: dir + "/gateway.yaml")
        let p = try MeshgateProcess(["gateway", "--config", dir + "/gateway.yaml"])
        let status = p.waitExit(timeout: 20)
        #expect(status == 1, "exit status \(String(describing: status)):\n\(p.stderr)")
        #expect(
            p.stderr.contains(
                "meshgate: error: cannot serve the admin endpoint on admin.listen 127.0.0.1:\(base + 1): address already in use"),
            "\(p.stderr)")
    }
}
