import Foundation
import Testing
import MeshgateTestKit

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 11: `gateway --check` catches a certificate of another cluster (case 5); `link add`
/// refuses a bundle naming another cluster's gateway and replaces a link only with --replace
/// (case 6); a probe that fails for our own descriptor exhaustion does not take a link down
/// (10–13). Real processes.
@Suite(.serialized) struct LinkIdentityCLITests {
    static func meshgate(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.run([MeshgateProcess.binary] + arguments, timeout: 30)
    }

    @Test("gateway --check: west's certificate in cluster east's config exits 2 naming the file and both identities")
    func checkCatchesAnotherClustersCertificate() throws {
        let pki = try GatewayPKI.shared()
        let dir = try makeTestDirectory("gw-check-cluster")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + "/gateway.yaml"
        try writeAtomically(
            GatewayYAML.gateway(cluster: "east", identity: pki.gateway("west"), inbound: 4143, outbound: 4200...4299), to: config)
        let run = try Self.meshgate(["gateway", "--config", config, "--check"])
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(!run.stdout.contains("OK"), "\(run.stdout)")
        #expect(
            run.stderr.contains("\(pki.gateway("west").cert): identity.cert: the certificate names spiffe://cluster.local/ns/meshgate-west/sa/gateway, not spiffe://cluster.local/ns/meshgate-east/sa/gateway"),
            "\(run.stderr)")
        // The gateway itself does not start with it either.
        let start = try Self.meshgate(["gateway", "--config", config])
        #expect(start.status == 2, "\(start.stderr)")
        #expect(start.stderr.contains("names spiffe://cluster.local/ns/meshgate-west/sa/gateway"), "\(start.stderr)")
    }

    @Test("a private key readable by others: warned once at start, and again when a changed key is reloaded")
    func keyPermissionsWarned() throws {
        let pki = try GatewayPKI.shared()
        let dir = try makeTestDirectory("key-mode")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let id = GatewayPKI.Files(folder: dir + "/id")
        try FileManager.default.createDirectory(atPath: dir + "/id", withIntermediateDirectories: true)
        for (from, to) in [(pki.gateway("east").cert, id.cert), (pki.gateway("east").key, id.key), (pki.gateway("east").trust, id.trust)] {
            try FileManager.default.copyItem(atPath: from, toPath: to)
        }
        chmod(id.key, 0o644)
        let base = try LoopbackPorts.freeBlock(count: 3)
        let east = try GatewayProcess(
            cluster: "east", directory: dir,
            config: GatewayYAML.gateway(cluster: "east", identity: id, inbound: base, outbound: (base + 1)...(base + 2)),
            inboundPort: base)
        defer { _ = east.stop() }
        let warning = "\(id.key) has mode 644: readable by others"
        #expect(east.waitLog(warning, timeout: 5), "\(east.logTail)")
        // The certificate rewritten (one more newline: new bytes, the same certificate): the
        // watcher's reload of it is logged, after polls that saw the unchanged key: no repeat.
        let reloaded = "identity reloaded from \(id.cert)"
        try writeAtomically(try String(contentsOfFile: id.cert, encoding: .utf8) + "\n", to: id.cert)
        #expect(east.waitLog(reloaded, timeout: 5), "\(east.logTail)")
        #expect(east.logLines(containing: warning).count == 1, "\(east.logTail)")
        // The same key rewritten (a rotation): reloaded, and warned about again.
        let key = try String(contentsOfFile: id.key, encoding: .utf8)
        try writeAtomically(key + "\n", to: id.key)
        chmod(id.key, 0o644)
        #expect(east.waitLog(warning, count: 2, timeout: 5), "\(east.logTail)")
    }

    /// east's config with a links folder, and west's bundle from `meshgate link`.
    static func linkSetUp(_ label: String) throws -> (dir: String, config: String, bundle: String) {
        let pki = try GatewayPKI.shared()
        let dir = try makeTestDirectory(label)
        try FileManager.default.createDirectory(atPath: dir + "/links", withIntermediateDirectories: true)
        let config = dir + "/east.yaml"
        try writeAtomically(
            GatewayYAML.gateway(cluster: "east", identity: pki.gateway("east"), inbound: 4143, outbound: 4200...4299, links: "links"),
            to: config)
        let west = dir + "/west.yaml"
        try writeAtomically(GatewayYAML.gateway(cluster: "west", identity: pki.gateway("west"), inbound: 4143, outbound: 4200...4299), to: west)
        let bundle = try Self.meshgate(["link", "--config", west, "--address", "127.0.0.1:14143"])
        guard bundle.status == 0 else { throw TestFailure("meshgate link: \(bundle.stderr)") }
        return (dir, config, bundle.stdout)
    }

    @Test("link add: a bundle of west naming north's gateway is refused, nothing written")
    func addRefusesAnotherClustersIdentity() throws {
        let (dir, config, bundle) = try Self.linkSetUp("link-identity")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeAtomically(bundle.replacingOccurrences(of: "meshgate-west", with: "meshgate-north"), to: dir + "/x.yaml")
        let run = try Self.meshgate(["link", "add", dir + "/x.yaml", "--config", config])
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(
            run.stderr.contains("identity: 'spiffe://cluster.local/ns/meshgate-north/sa/gateway' is not the gateway identity of cluster 'west'"),
            "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/links/west.link.yaml"))
    }

    @Test("link add over an existing link: the changes are printed; without --replace nothing is written (exit 2); with it the file is replaced")
    func replaceNeedsTheFlag() throws {
        let (dir, config, bundle) = try Self.linkSetUp("link-replace")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/links/west.link.yaml"
        try writeAtomically(bundle, to: dir + "/west.link.yaml")
        let add = try Self.meshgate(["link", "add", dir + "/west.link.yaml", "--config", config])
        #expect(add.status == 0 && add.stdout.hasPrefix("added link to cluster west"), "\(add.stdout)\(add.stderr)")
        let same = try Self.meshgate(["link", "add", dir + "/west.link.yaml", "--config", config])
        #expect(same.status == 0 && same.stdout.contains("unchanged"), "\(same.stdout)\(same.stderr)")

        let changed = bundle.replacingOccurrences(of: "  - \"127.0.0.1:14143\"", with: "  - \"127.0.0.1:14143\"\n  - \"127.0.0.1:24143\"")
        #expect(changed != bundle, "\(bundle)")
        try writeAtomically(changed, to: dir + "/west2.link.yaml")
        let refused = try Self.meshgate(["link", "add", dir + "/west2.link.yaml", "--config", config])
        #expect(refused.status != 0, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("gateways: + 127.0.0.1:24143") && refused.stderr.contains("--replace"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == bundle, "nothing written")

        let replaced = try Self.meshgate(["link", "add", dir + "/west2.link.yaml", "--config", config, "--replace"])
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(replaced.stdout.hasPrefix("replaced link to cluster west") && replaced.stdout.contains("gateways: + 127.0.0.1:24143"), "\(replaced.stdout)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == changed)
    }

    @Test("link add: a bundle of 17 gateway addresses is refused naming the field and line")
    func seventeenAddressesAreRefused() throws {
        let (dir, config, bundle) = try Self.linkSetUp("link-17")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let many = (0..<17).map { "  - \"127.0.0.1:\(30000 + $0)\"" }.joined(separator: "\n")
        try writeAtomically(bundle.replacingOccurrences(of: "  - \"127.0.0.1:14143\"", with: many), to: dir + "/big.yaml")
        let run = try Self.meshgate(["link", "add", dir + "/big.yaml", "--config", config])
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.range(of: #"big\.yaml:\d+: gateways: lists 17 gateway addresses; at most 16 are allowed"#, options: .regularExpression) != nil, "\(run.stderr)")
    }

    @Test("east out of descriptors (RLIMIT_NOFILE lowered on the running process): its probes fail here, not there; the link stays up")
    func descriptorExhaustionIsNotARemoteFailure() throws {
        let mesh = try MirrorMesh(label: "probe-emfile")
        defer { mesh.shutdown() }
        try mesh.addLink("west")
        #expect(mesh.east.waitLog("link west: route ", timeout: 15), "\(mesh.east.logTail)")
        let pid = mesh.east.process.pid
        // The kernel hands out the lowest free number: a limit at the lowest one found free (over
        // a second: probe sockets come and go) leaves none for a new socket.
        var open = Int.max
        for _ in 0..<20 {
            let taken = Set(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap { Int($0) })
            open = min(open, (0...).first { !taken.contains($0) }!)
            usleep(50_000)
        }
        let soft = getrlimitSoft(pid)
        // No descriptor left for a new socket: every probe's socket() fails with EMFILE (only the
        // soft limit is lowered, which needs no privilege, and put back after).
        let lower = try ChildProcess.run(["/usr/bin/prlimit", "--pid", "\(pid)", "--nofile=\(open):"], timeout: 10)
        try #require(lower.status == 0, "prlimit: \(lower.stderr)")
        defer { _ = try? ChildProcess.run(["/usr/bin/prlimit", "--pid", "\(pid)", "--nofile=\(soft):"], timeout: 10) }
        // East probes every 1 s, timeout 500 ms, down after 3 rounds: give it 5 rounds.
        #expect(mesh.east.waitLog("failed here, not there", timeout: 10), "\(mesh.east.logTail)")
        usleep(5_000_000)
        #expect(mesh.east.logLines(containing: "link west: down").isEmpty, "\(mesh.east.logTail)")
        #expect(mesh.east.logLines(containing: "link west: probe round").isEmpty, "no round counted: \(mesh.east.logTail)")
    }
}

/// The soft RLIMIT_NOFILE of process `pid` (from /proc/<pid>/limits; 1024 when unreadable).
func getrlimitSoft(_ pid: Int32) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Max open files") })
    else { return 1024 }
    return line.split(separator: " ", omittingEmptySubsequences: true).compactMap { Int($0) }.first ?? 1024
}
