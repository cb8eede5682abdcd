import Foundation
import MeshgateLoop
import MeshgateNames
import MeshgateTLS
import Testing

@testable import MeshgateControl

#if canImport(Glibc)
import Glibc
#endif

/// A bundle's identity must be its own cluster's gateway identity; at most 16 gateway
/// addresses; replacing a bundle shows what changes (issue 11, case 6 and 10–13).
@Suite(.serialized) struct LinkBundleIdentityTests {
    static func bundleText(cluster: String = "west", identity: String? = nil, gateways: Int = 1) throws -> String {
        let anchors = try PEMCertificates.parse(String(contentsOfFile: try MirrorTestPKI.directory() + "/bundle.pem", encoding: .utf8))
        let id = identity ?? "spiffe://cluster.local/ns/meshgate-\(cluster)/sa/gateway"
        let bundle = LinkBundle(
            cluster: cluster, gateways: (0..<gateways).map { HostPort(host: "127.0.0.1", port: UInt16(20000 + $0)) },
            identity: WorkloadIdentity(id)!, anchors: anchors)
        return bundle.render()
    }

    @Test("a bundle of west naming north's gateway identity is not linkable, with file:line: identity:")
    func otherClustersIdentityIsRefused() throws {
        let dir = try GatewayCheckTests.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try GatewayConfig.load(path: dir + "/gateway.yaml")
        let text = try Self.bundleText().replacingOccurrences(of: "meshgate-west", with: "meshgate-north")
        let bundle = try LinkBundle.parse(yaml: text, fileName: "x.yaml")
        #expect(errorLines { () throws(ConfigErrors) in try bundle.checkLinkable(into: config) } == [
            "x.yaml:\(bundle.origin!.identityLine): identity: 'spiffe://cluster.local/ns/meshgate-north/sa/gateway' is not the gateway identity of cluster 'west' (expected spiffe://cluster.local/ns/meshgate-west/sa/gateway); a bundle names its own cluster's gateway"
        ])
        // A workload identity is no gateway either.
        let workload = try LinkBundle.parse(
            yaml: try Self.bundleText(identity: "spiffe://cluster.local/ns/default/sa/web"), fileName: "y.yaml")
        #expect(throws: ConfigErrors.self) { try workload.checkLinkable(into: config) }
        try LinkBundle.parse(yaml: try Self.bundleText(), fileName: "z.yaml").checkLinkable(into: config)
    }

    @Test("16 gateway addresses parse; 17 are refused naming the field and line")
    func atMostSixteenAddresses() throws {
        #expect(try LinkBundle.parse(yaml: try Self.bundleText(gateways: 16)).gateways.count == 16)
        let text = try Self.bundleText(gateways: 17)
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("gateways:") }! + 1
        #expect(
            errorLines { () throws(ConfigErrors) in _ = try LinkBundle.parse(yaml: text, fileName: "big.link.yaml") } == [
                "big.link.yaml:\(line): gateways: lists 17 gateway addresses; at most 16 are allowed"
            ])
    }

    @Test("changes(from:) names added and removed addresses, a new identity and anchors")
    func changesAreListed() throws {
        let old = try LinkBundle.parse(yaml: try Self.bundleText(gateways: 2))
        #expect(old.changes(from: old).isEmpty)
        let new = LinkBundle(
            cluster: "west", gateways: [old.gateways[1], HostPort(host: "west.example", port: 4143)],
            identity: WorkloadIdentity("spiffe://cluster.local/ns/meshgate-north/sa/gateway")!, anchors: old.anchors + [Data([1, 2, 3])])
        let lines = new.changes(from: old)
        #expect(lines.count == 4, "\(lines)")
        #expect(lines[0] == "gateways: + west.example:4143")
        #expect(lines[1] == "gateways: - 127.0.0.1:20000")
        #expect(lines[2] == "identity: spiffe://cluster.local/ns/meshgate-west/sa/gateway → spiffe://cluster.local/ns/meshgate-north/sa/gateway")
        #expect(lines[3].hasPrefix("anchors: + sha256:"))
    }

    @Test("a bundle with another cluster's identity dropped into the links folder is refused; the running mirror stays as it was")
    func supervisorKeepsTheRunningMirror() throws {
        let dir = try GatewayCheckTests.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try GatewayConfig.load(path: dir + "/gateway.yaml")
        let client = try MirrorTestPKI.eastClient()
        let log = MirrorLogRecorder()
        let supervisor = LinkSupervisor(
            config: { config }, credentials: { client }, logger: log.logger(), interval: .seconds(3600), onChange: {})
        defer { supervisor.stop() }
        let path = dir + "/links/west.link.yaml"
        try Self.bundleText().write(toFile: path, atomically: true, encoding: .utf8)
        supervisor.scan()
        let running = supervisor.mirrors
        #expect(running.map(\.cluster) == ["west"])

        try Self.bundleText().replacingOccurrences(of: "meshgate-west", with: "meshgate-north")
            .write(toFile: path, atomically: true, encoding: .utf8)
        supervisor.scan()
        #expect(supervisor.mirrors.count == 1 && supervisor.mirrors.first === running.first, "the mirror was not replaced")
        #expect(supervisor.mirrors.first?.bundle.identity == MirrorTestPKI.westIdentity)
        #expect(
            log.all.contains { $0.contains("\(path):") && $0.contains("is not the gateway identity of cluster 'west'") && $0.contains("(link not changed)") },
            "\(log.all)")
    }

    @Test("meshgate check warns (⚠) about a private key readable by others or by a group this process is not in; its own group may read it")
    func keyPermissions() throws {
        let pki = try MirrorTestPKI.directory()
        let dir = try GatewayCheckTests.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A copy of the key, so that the shared PKI stays as it is.
        let key = dir + "/east.key"
        try FileManager.default.copyItem(atPath: pki + "/east.key", toPath: key)
        let yaml = try String(contentsOfFile: dir + "/gateway.yaml", encoding: .utf8)
            .replacingOccurrences(of: "key: \(pki)/east.key", with: "key: \(key)")
        try yaml.write(toFile: dir + "/gateway.yaml", atomically: true, encoding: .utf8)

        // Group-readable, the group not ours (65534: nogroup; the tests never run in it).
        #expect(!IdentityVerification.processGroups().contains(65534))
        #expect(chown(key, uid_t.max, 65534) == 0)
        chmod(key, 0o640)
        let loose = GatewayCheckTests.run(dir)
        let warned = GatewayCheckTests.find(loose, "private key permissions")
        #expect(warned?.status == .warning, "\(loose)")
        #expect(warned?.detail.contains("640") == true && warned?.hint == "chmod 600 \(key)", "\(String(describing: warned))")
        #expect(warned?.detail.contains("group 65534") == true, "\(String(describing: warned))")

        // Group-readable by our own group (a Secret volume's fsGroup): fine.
        #expect(chown(key, uid_t.max, getegid()) == 0)
        let ownGroup = GatewayCheckTests.run(dir)
        #expect(GatewayCheckTests.find(ownGroup, "private key permissions")?.status == .ok, "\(ownGroup)")

        // Readable by others: whatever the group.
        chmod(key, 0o604)
        let others = GatewayCheckTests.run(dir)
        #expect(GatewayCheckTests.find(others, "private key permissions")?.status == .warning, "\(others)")

        chmod(key, 0o600)
        let tight = GatewayCheckTests.run(dir)
        #expect(GatewayCheckTests.find(tight, "private key permissions")?.status == .ok, "\(tight)")
    }
}
