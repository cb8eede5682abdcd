import Foundation
import MeshgateLoop
import MeshgateNames
import MeshgateTLS
import Testing

@testable import MeshgateControl

/// `GatewayCheck` (what `meshgate check` prints) over real files: the mirror tests' openssl PKI,
/// a scripted west gateway that answers probes, and a dead address.
@Suite(.serialized) struct GatewayCheckTests {
    /// A folder with `gateway.yaml` for `cluster` presenting `leaf`, and a links folder.
    static func setUp(cluster: String = "east", leaf: String = "east", links: [LinkBundle] = [], registry: String? = nil) throws -> String {
        let pki = try MirrorTestPKI.directory()
        let dir = NSTemporaryDirectory() + "meshgate-check-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/links", withIntermediateDirectories: true)
        var yaml = """
            cluster: \(cluster)
            identity: {cert: \(pki)/\(leaf).pem, key: \(pki)/\(leaf).key, trust: \(pki)/bundle.pem}
            inbound: {listen: 127.0.0.1:1}
            links: links

            """
        if let registry {
            try registry.write(toFile: dir + "/registry.yaml", atomically: true, encoding: .utf8)
            yaml += "registry: registry.yaml\n"
        }
        try yaml.write(toFile: dir + "/gateway.yaml", atomically: true, encoding: .utf8)
        for b in links { try b.render().write(toFile: dir + "/links/" + b.fileName, atomically: true, encoding: .utf8) }
        return dir
    }

    static func bundle(_ cluster: String, _ address: SocketAddress) throws -> LinkBundle {
        let anchors = try PEMCertificates.parse(String(contentsOfFile: try MirrorTestPKI.directory() + "/bundle.pem", encoding: .utf8))
        return LinkBundle(
            cluster: cluster, gateways: [HostPort(host: "127.0.0.1", port: address.port)],
            identity: WorkloadIdentity("spiffe://cluster.local/ns/meshgate-\(cluster)/sa/gateway")!, anchors: anchors)
    }

    static func run(_ dir: String, now: Date = Date(), notAfter: Date = Date().addingTimeInterval(30 * 86400)) -> [CheckResult] {
        GatewayCheck.run(configPath: dir + "/gateway.yaml", probeTimeout: .seconds(1), now: now) { _ in notAfter }
    }

    static func find(_ results: [CheckResult], _ prefix: String) -> CheckResult? { results.first { $0.name.hasPrefix(prefix) } }

    @Test("a good gateway with a live link: every check passes, the link is probed")
    func allGood() throws {
        let west = try MirrorTestServer()
        defer { west.stop() }
        let dir = try Self.setUp(links: [try Self.bundle("west", west.address)], registry: "services: []\n")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let results = Self.run(dir)
        #expect(results.allSatisfy { $0.status == .ok }, "\(results)")
        for name in ["config valid", "registry loaded", "identity files load", "certificate chain valid", "identity matches config", "certificate expiry", "link west: trust shared", "link west: 127.0.0.1:"] {
            #expect(Self.find(results, name) != nil, "\(name) is checked: \(results.map(\.name))")
        }
        #expect(Self.find(results, "link west: 127.0.0.1:")?.detail.hasPrefix("probe answered in") == true)
        #expect(Self.find(results, "identity matches config")?.detail == MirrorTestPKI.eastIdentity.description)
    }

    @Test("the default expiry reader reads the leaf's notAfter (the openssl leaves last 30 days)")
    func defaultExpiryReader() throws {
        let pki = try MirrorTestPKI.directory()
        let notAfter = try GatewayCheck.leafNotAfter(pki + "/east.pem")
        let left = notAfter.timeIntervalSinceNow
        #expect(left > 29 * 86400 && left <= 30 * 86400 + 60, "\(notAfter)")
        #expect(throws: InvalidValue.self) { try GatewayCheck.leafNotAfter(pki + "/east.key") }
        let dir = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let results = GatewayCheck.run(configPath: dir + "/gateway.yaml", probeTimeout: .seconds(1))
        #expect(Self.find(results, "certificate expiry")?.status == .ok, "\(results)")
    }

    @Test("a dead link address fails with a hint; a certificate near expiry warns; an expired one fails")
    func deadLinkAndExpiry() throws {
        let closed = try Socket.listen(on: try SocketAddress.resolve("127.0.0.1:0"), reusePort: false)
        let deadAddress = try Socket.localAddress(closed)
        Socket.close(closed)
        let dir = try Self.setUp(links: [try Self.bundle("north", deadAddress)])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let now = Date()
        let soon = Self.run(dir, now: now, notAfter: now.addingTimeInterval(2 * 3600))
        let link = try #require(Self.find(soon, "link north: 127.0.0.1:"))
        #expect(link.status == .failed)
        #expect(link.detail.contains("refused"), "\(link.detail)")
        #expect(link.hint?.contains("reachable") == true)
        #expect(Self.find(soon, "certificate expiry")?.status == .warning, "\(soon)")
        let expired = Self.run(dir, now: now, notAfter: now.addingTimeInterval(-60))
        #expect(Self.find(expired, "certificate not expired")?.status == .failed, "\(expired)")
    }

    @Test("east's certificate in a config for cluster west: the chain is fine, the identity is not")
    func identityMismatch() throws {
        let dir = try Self.setUp(cluster: "west", leaf: "east")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let results = Self.run(dir)
        #expect(Self.find(results, "certificate chain valid")?.status == .ok, "\(results)")
        let identity = try #require(Self.find(results, "identity matches config"))
        #expect(identity.status == .failed, "\(identity)")
        #expect(identity.hint?.contains("spiffe://cluster.local/ns/meshgate-west/sa/gateway") == true, "\(identity)")
    }

    @Test("a broken config stops at the first check, naming the line; a broken registry fails its check")
    func brokenFiles() throws {
        let dir = try Self.setUp(registry: "services:\n  - {namespace: default}\n")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let registry = try #require(Self.find(Self.run(dir), "registry loaded"))
        #expect(registry.status == .failed)
        #expect(registry.detail.contains("registry.yaml:2"), "\(registry.detail)")
        try "cluster: east\nidentity: 3\n".write(toFile: dir + "/gateway.yaml", atomically: true, encoding: .utf8)
        let results = Self.run(dir)
        #expect(results.count == 1, "\(results)")
        #expect(results.first?.status == .failed)
        #expect(results.first?.detail.contains("gateway.yaml:2") == true, "\(results)")
    }
}
