import Foundation
import MeshgateAdmin
import MeshgateControl
import MeshgateLoad
import Testing
import MeshgateTestKit

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 11, case 2, with three real gateways: `<svc>-<cluster>` is ambiguous when names hold
/// dashes. Link `c` exports `a-b`, link `b-c` exports `a`: both would be `default/a-b-c` on
/// `east`. `c` linked first holds the name; linking `b-c` (whose name sorts first, which used to
/// move the route) is refused, logged once, counted and shown in `/status`; after a restart of
/// east with `c` down (so that `b-c`'s snapshot surely comes first) the name stays `c`'s.
@Suite(.serialized) struct MirrorTakeoverTests {
    final class Mesh {
        let dir: String
        let base: UInt16
        let echo: BackendServer
        var processes: [String: GatewayProcess] = [:]
        var retired: [GatewayProcess] = []

        func inbound(_ cluster: String) -> UInt16 { cluster == "east" ? base : cluster == "c" ? base + 1 : base + 2 }
        var eastAdmin: UInt16 { base + 3 }
        var eastRange: ClosedRange<UInt16> { (base + 4)...(base + 7) }
        func range(_ cluster: String) -> ClosedRange<UInt16> { cluster == "c" ? (base + 8)...(base + 8) : (base + 9)...(base + 9) }
        var admin: String { "127.0.0.1:\(eastAdmin)" }
        func folder(_ cluster: String) -> String { "\(dir)/\(cluster)" }
        var eastConfigPath: String { folder("east") + "/gateway.yaml" }

        init() throws {
            ProcessResources.ignoreSIGPIPE()
            dir = try makeTestDirectory("takeover")
            base = try LoopbackPorts.freeBlock(count: 12)
            echo = try BackendServer(behavior: .echo)
            do {
                let anchor = try GatewayPKI.shared().directory + "/anchor"
                for cluster in ["c", "b-c"] {
                    try Self.meshgate(["identity", "issuer", "--anchor", anchor, "--cluster", cluster, "--out", "\(dir)/pki/\(cluster)"])
                    try Self.meshgate([
                        "identity", "issue", "--issuer", "\(dir)/pki/\(cluster)", "--gateway", "--out", "\(dir)/pki/\(cluster)/gateway",
                    ])
                }
                for sub in ["east/links", "c", "b-c", "bundles"] {
                    try FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true)
                }
                let spec = { (name: String) in
                    ServiceSpec(name: name, ports: [(7000, self.echo.port)], endpoints: ["127.0.0.1:\(self.echo.port)"])
                }
                try writeAtomically(GatewayYAML.registry([spec("a-b")]), to: folder("c") + "/registry.yaml")
                try writeAtomically(GatewayYAML.registry([spec("a")]), to: folder("b-c") + "/registry.yaml")
                try writeAtomically(GatewayYAML.registry([]), to: folder("east") + "/registry.yaml")
                try start("c")
                try start("b-c")
                try start("east")
                for cluster in ["c", "b-c"] {
                    let bundle = try Self.meshgate(["link", "--config", folder(cluster) + "/gateway.yaml"])
                    try writeAtomically(bundle.stdout, to: "\(dir)/bundles/\(cluster).link.yaml")
                }
            } catch {
                shutdown()
                throw error
            }
        }

        func config(_ cluster: String) throws -> String {
            let identity =
                cluster == "east" ? try GatewayPKI.shared().gateway("east") : GatewayPKI.Files(folder: "\(dir)/pki/\(cluster)/gateway")
            var text = GatewayYAML.gateway(
                cluster: cluster, identity: identity, inbound: inbound(cluster), outbound: cluster == "east" ? eastRange : range(cluster),
                registry: "registry.yaml",
                links: cluster == "east" ? "{dir: links, probe: {interval: 1s, timeout: 500ms, failureThreshold: 3}}" : nil)
            let adminPort = cluster == "east" ? eastAdmin : cluster == "c" ? base + 10 : base + 11
            text += "admin: {listen: 127.0.0.1:\(adminPort)}\n"
            if cluster == "east" { text += "stateDir: state\n" }
            return text
        }

        func start(_ cluster: String) throws {
            if let old = processes[cluster] { retired.append(old) }
            processes[cluster] = try GatewayProcess(
                cluster: cluster, directory: folder(cluster), config: try config(cluster), inboundPort: inbound(cluster))
        }

        func kill(_ cluster: String) {
            guard let p = processes[cluster] else { return }
            p.process.signal(SIGKILL)
            _ = p.process.waitExit(timeout: 10)
        }

        var east: GatewayProcess { processes["east"]! }

        @discardableResult
        static func meshgate(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            let run = try ChildProcess.run([MeshgateProcess.binary] + arguments, timeout: 60)
            guard run.status == 0 else {
                throw TestFailure("meshgate \(arguments.joined(separator: " ")) exited \(run.status):\n\(run.stdout)\n\(run.stderr)")
            }
            return run
        }

        func addLink(_ cluster: String) throws {
            try Self.meshgate(["link", "add", "\(dir)/bundles/\(cluster).link.yaml", "--config", eastConfigPath])
        }

        /// east's `/status`, or nil while it does not answer.
        func status() -> GatewayStatus? { try? AdminClient.status(admin) }

        /// Probes of b-c's gateway that east counts as answered, as `/status` has it.
        func bcProbesAnswered() -> Int? { status()?.links.first { $0.cluster == "b-c" }?.probes.answered }

        /// The cluster of east's route `default/a-b-c:7000`, as `/status` has it.
        func holder() -> String? { status()?.routes.first { $0.key == "default/a-b-c:7000" }?.cluster }

        var logs: String { (Array(processes.values) + retired).map(\.logTail).joined(separator: "\n---\n") }

        func shutdown() {
            for p in Array(processes.values) + retired where p.process.process.isRunning {
                p.process.signal(SIGKILL)
                _ = p.process.waitExit(timeout: 10)
            }
            echo.stop()
            try? FileManager.default.removeItem(atPath: dir)
        }

        deinit { shutdown() }
    }

    static let refusal = "link b-c: service default/a would be mirrored as default/a-b-c"

    @Test("b-c cannot take c's default/a-b-c: refused, logged once, counted, in /status; a restart of east keeps c as holder")
    func noTakeover() throws {
        let mesh = try Mesh()
        defer { mesh.shutdown() }
        try mesh.addLink("c")
        #expect(mesh.east.waitLog("link c: route default/a-b-c:7000 on", timeout: 15), "\(mesh.logs)")
        #expect(waitUntil(timeout: 10) { mesh.holder() == "c" })

        try mesh.addLink("b-c")
        #expect(mesh.east.waitLog(Self.refusal, timeout: 15), "\(mesh.logs)")
        #expect(waitUntil(timeout: 10) { mesh.status()?.links.first { $0.cluster == "b-c" }?.synced == true })
        // After b-c's later snapshots and probes (east counts two more of its probes answered):
        // nothing moves, nothing is logged again.
        let answered = mesh.bcProbesAnswered() ?? 0
        #expect(waitUntil(timeout: 10) { (mesh.bcProbesAnswered() ?? 0) >= answered + 2 }, "\(mesh.logs)")
        #expect(mesh.holder() == "c", "the route stays c's: \(mesh.logs)")
        #expect(mesh.east.logLines(containing: Self.refusal).count == 1, "logged once")
        #expect(mesh.east.logLines(containing: "link b-c: route default/a-b-c").isEmpty, "\(mesh.logs)")

        let status = try #require(mesh.status())
        let bc = try #require(status.links.first { $0.cluster == "b-c" })
        #expect(bc.refusals?.conflicts == 1)
        #expect(bc.refusals?.current.first?.contains("which link c holds") == true, "\(String(describing: bc.refusals))")
        #expect(bc.lastError?.contains("default/a-b-c") == true, "\(String(describing: bc.lastError))")
        let route = try #require(status.routes.first { $0.key == "default/a-b-c:7000" })
        #expect(route.target == "default/a-b:7000")

        let metrics = try AdminClient.get(mesh.admin, path: "/metrics").text
        #expect(metrics.contains("meshgate_mirror_conflicts_total{cluster=\"b-c\"} 1"), "\(metrics)")
        let routes = try Mesh.meshgate(["routes", "--admin", mesh.admin]).stdout
        #expect(routes.contains("refused:") && routes.contains(Self.refusal), "\(routes)")
        let gateways = try Mesh.meshgate(["gateways", "--admin", mesh.admin]).stdout
        #expect(gateways.split(separator: "\n").contains { $0.hasPrefix("b-c") && $0.contains("default/a-b-c") }, "\(gateways)")

        // The holder is on disk.
        let holders = try MirrorHolders.load(path: mesh.folder("east") + "/state/mirror-holders.json").get()
        #expect(holders.holders == ["default/a-b-c": "c"])

        // Restart east with c's gateway down: b-c's snapshot is the only one; the name stays
        // reserved for c, and goes back to c once c answers.
        mesh.kill("east")
        mesh.kill("c")
        try mesh.start("east")
        #expect(mesh.east.waitLog("which is reserved for link c", timeout: 15), "\(mesh.logs)")
        #expect(mesh.holder() == nil)
        try mesh.start("c")
        #expect(mesh.east.waitLog("link c: route default/a-b-c:7000 on", timeout: 20), "\(mesh.logs)")
        #expect(waitUntil(timeout: 10) { mesh.holder() == "c" }, "\(mesh.logs)")
        #expect(mesh.east.logLines(containing: "link b-c: route default/a-b-c").isEmpty, "\(mesh.logs)")
    }
}
