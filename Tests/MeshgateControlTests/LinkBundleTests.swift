import Foundation
import MeshgateNames
import Testing

@testable import MeshgateControl
import MeshgateTestKit

/// The error lines `LinkBundle.parse` reports, or [] when it parses.
func linkErrors(_ yaml: String) -> [String] {
    do {
        _ = try LinkBundle.parse(yaml: yaml, fileName: "link.yaml")
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

@Suite struct LinkBundleTests {
    /// Two made-up DER "certificates" (the parser only decodes base64; the bytes are compared, not parsed).
    static let derA = Data((0..<70).map { UInt8($0) })
    static let derB = Data((0..<30).map { UInt8(255 - $0) })

    /// A bundle whose line numbers the tests rely on: cluster on 3, gateways on 4–6, identity on 7, anchors on 8.
    static let good = """
        apiVersion: meshgate/link/v1
        kind: Link
        cluster: west
        gateways:
          - "west-gw.example.com:4143"
          - 10.0.0.1:4143
        identity: spiffe://cluster.local/ns/meshgate-west/sa/gateway
        anchors: |
        \(indented(PEMCertificates.render([derA, derB])))
        """

    static func indented(_ text: String) -> String {
        text.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
    }

    static func replacing(_ old: String, with new: String) -> String {
        precondition(good.contains(old), "fixture has no \(old)")
        return good.replacingOccurrences(of: old, with: new)
    }

    @Test func parsesAGoodBundle() throws {
        let bundle = try LinkBundle.parse(yaml: Self.good, fileName: "west.link.yaml")
        #expect(bundle.cluster == "west")
        #expect(bundle.gateways == [HostPort(host: "west-gw.example.com", port: 4143), HostPort(host: "10.0.0.1", port: 4143)])
        #expect(bundle.identity.spiffeURI == "spiffe://cluster.local/ns/meshgate-west/sa/gateway")
        #expect(bundle.anchors == [Self.derA, Self.derB])
        #expect(bundle.fileName == "west.link.yaml")
        #expect(bundle.origin == LinkBundle.Origin(file: "west.link.yaml", clusterLine: 3, identityLine: 7, anchorsLine: 8))
    }

    @Test func acceptsTheDNSIdentityFormAndIPv6() throws {
        let yaml = Self.replacing("spiffe://cluster.local/ns/meshgate-west/sa/gateway", with: "gateway.meshgate-west.serviceaccount.identity.cluster.local")
            .replacingOccurrences(of: "10.0.0.1:4143", with: "\"[fd00::1]:4143\"")
        let bundle = try LinkBundle.parse(yaml: yaml)
        #expect(bundle.identity.spiffeURI == "spiffe://cluster.local/ns/meshgate-west/sa/gateway")
        #expect(bundle.gateways[1] == HostPort(host: "fd00::1", port: 4143))
    }

    @Test func renderParsesBackToTheSameBundle() throws {
        let bundle = LinkBundle(
            cluster: "east",
            gateways: [HostPort(host: "east.example.com", port: 4143), HostPort(host: "fd00::7", port: 14143), HostPort(host: "10.1.2.3", port: 4143)],
            identity: try WorkloadIdentity.parse("spiffe://cluster.local/ns/meshgate-east/sa/gateway"),
            anchors: [Self.derA, Data(repeating: 7, count: 300)])
        let text = bundle.render()
        #expect(try LinkBundle.parse(yaml: text) == bundle)
        #expect(bundle.render() == text, "deterministic")
        #expect(text.hasPrefix("""
            apiVersion: meshgate/link/v1
            kind: Link
            cluster: east
            gateways:
              - "east.example.com:4143"
              - "[fd00::7]:14143"
              - "10.1.2.3:4143"
            identity: spiffe://cluster.local/ns/meshgate-east/sa/gateway
            anchors: |
              -----BEGIN CERTIFICATE-----

            """))
        #expect(text.hasSuffix("  -----END CERTIFICATE-----\n"))
        // The parsed good fixture renders to text that parses to it again.
        let parsed = try LinkBundle.parse(yaml: Self.good)
        #expect(try LinkBundle.parse(yaml: parsed.render()) == parsed)
        // 64 base64 characters a line.
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 66 })
    }

    @Test(arguments: [
        ("apiVersion: meshgate/link/v1", "apiVersion: meshgate/link/v2",
         "link.yaml:1: apiVersion: 'meshgate/link/v2' is not supported (expected meshgate/link/v1)"),
        ("kind: Link", "kind: Route", "link.yaml:2: kind: 'Route' is not Link"),
        ("cluster: west", "cluster: West",
         "link.yaml:3: cluster: 'West' is not a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit)"),
        ("cluster: west", "cluster: [west]", "link.yaml:3: cluster: expected a string, found a list"),
        ("10.0.0.1:4143", "10.0.0.1:99999", "link.yaml:6: gateways[1]: port 99999 out of range"),
        ("10.0.0.1:4143", "10.0.0.1", "link.yaml:6: gateways[1]: '10.0.0.1' has no port (expected host:port)"),
        ("10.0.0.1:4143", "bad_host!:4143", "link.yaml:6: gateways[1]: 'bad_host!' is neither an IP address nor a host name"),
        ("10.0.0.1:4143", "west-gw.example.com:4143", "link.yaml:6: gateways[1]: west-gw.example.com:4143 is listed twice (first at line 5)"),
        ("identity: spiffe://cluster.local/ns/meshgate-west/sa/gateway", "identity: west-gateway",
         "link.yaml:7: identity: 'west-gateway' is not a workload identity (expected spiffe://<trust-domain>/ns/<namespace>/sa/<account> or <account>.<namespace>.serviceaccount.identity.<trust-domain>)"),
        ("identity: spiffe://cluster.local/ns/meshgate-west/sa/gateway", "identity:", "link.yaml:7: identity: a value is required"),
        ("kind: Link", "kind: Link\nport: 4143", "link.yaml:3: port: unknown key"),
        ("kind: Link", "kind: Link\nanchor: x", "link.yaml:3: anchor: unknown key (did you mean anchors?)"),
        ("kind: Link\n", "", "link.yaml:1: kind: missing required key"),
    ])
    func reportsFieldErrors(old: String, new: String, expected: String) {
        #expect(linkErrors(Self.replacing(old, with: new)) == [expected])
    }

    @Test func gatewaysMustBeANonEmptyList() {
        let yaml = Self.good.replacingOccurrences(of: "gateways:\n  - \"west-gw.example.com:4143\"\n  - 10.0.0.1:4143", with: "gateways: []")
        #expect(linkErrors(yaml) == ["link.yaml:4: gateways: must list at least one gateway address (host:port)"])
        let scalar = Self.good.replacingOccurrences(of: "gateways:\n  - \"west-gw.example.com:4143\"\n  - 10.0.0.1:4143", with: "gateways: 10.0.0.1:4143")
        #expect(linkErrors(scalar) == ["link.yaml:4: gateways: expected a list, found '10.0.0.1:4143'"])
    }

    @Test func anchorsMustBeCertificates() {
        let head = Self.good.components(separatedBy: "anchors: |")[0]
        func errors(_ anchors: String) -> [String] { linkErrors(head + "anchors: |\n" + Self.indented(anchors) + "\n") }
        #expect(errors("no PEM here") == [
            "link.yaml:8: anchors: holds no PEM CERTIFICATE block (expected the trust anchors, -----BEGIN CERTIFICATE----- …)"
        ])
        #expect(errors("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----") == [
            "link.yaml:8: anchors: PEM line 1: a PRIVATE KEY block; only CERTIFICATE blocks belong here"
        ])
        #expect(errors("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----") == [
            "link.yaml:8: anchors: PEM certificate 1 is not valid base64"
        ])
        #expect(errors("-----BEGIN CERTIFICATE-----\nAAAA") == ["link.yaml:8: anchors: the CERTIFICATE block 1 has no END line"])
        #expect(linkErrors(head + "anchors: [a, b]\n") == ["link.yaml:8: anchors: expected a string, found a list"])
    }

    @Test func reportsEveryErrorInFileOrder() {
        let yaml = Self.replacing("kind: Link", with: "kind: Lnk")
            .replacingOccurrences(of: "cluster: west", with: "cluster: -west")
            .replacingOccurrences(of: "10.0.0.1:4143", with: "10.0.0.1:0")
        #expect(linkErrors(yaml) == [
            "link.yaml:2: kind: 'Lnk' is not Link",
            "link.yaml:3: cluster: '-west' is not a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit)",
            "link.yaml:6: gateways[1]: port 0 out of range",
        ])
    }

    @Test func reportsDocumentErrors() {
        #expect(linkErrors("") == ["link.yaml:1: the file is empty"])
        #expect(linkErrors("- west\n") == ["link.yaml:1: expected a mapping of keys to values at the top level, found a list"])
        let syntax = linkErrors("cluster: [west\n")
        #expect(syntax.count == 1 && syntax[0].hasPrefix("link.yaml:") && syntax[0].contains(": invalid YAML: "), "\(syntax)")
        #expect(linkErrors("kind: Link\n") == [
            "link.yaml:1: apiVersion: missing required key",
            "link.yaml:1: cluster: missing required key",
            "link.yaml:1: gateways: missing required key",
            "link.yaml:1: identity: missing required key",
            "link.yaml:1: anchors: missing required key",
        ])
    }

    @Test func loadNamesTheFile() throws {
        let folder = try TemporaryFolder(prefix: "meshgate-control")
        defer { folder.remove() }
        #expect(throws: ConfigErrors.self) { try LinkBundle.load(path: folder.file("missing.link.yaml")) }
        try folder.write("west.link.yaml", Self.replacing("kind: Link", with: "kind: link"))
        do {
            _ = try LinkBundle.load(path: folder.file("west.link.yaml"))
            Issue.record("parsed")
        } catch {
            #expect(error.errors.map(\.description) == ["\(folder.file("west.link.yaml")):2: kind: 'link' is not Link"])
        }
    }

    @Test func pemParsing() throws {
        let text = "subject=CN=x\n" + PEMCertificates.render([Self.derA]) + "\r\n" + PEMCertificates.render([Self.derB]).replacingOccurrences(of: "\n", with: "\r\n")
        #expect(try PEMCertificates.parse(text) == [Self.derA, Self.derB])
        #expect(try PEMCertificates.parse("") == [])
        #expect(throws: InvalidValue("PEM line 2: '-----END PUBLIC KEY-----' does not close BEGIN CERTIFICATE")) {
            try PEMCertificates.parse("-----BEGIN CERTIFICATE-----\n-----END PUBLIC KEY-----\n")
        }
    }
}

/// Anchor sharing and linkability, with real certificates (openssl, through `LinkTestPKI`).
@Suite struct LinkBundleAnchorTests {
    let pki: String

    init() throws { pki = try LinkTestPKI.folder() }

    func config(cluster: String = "east", trustDomain: String = "cluster.local") throws -> GatewayConfig {
        try GatewayConfig.parse(yaml: """
            cluster: \(cluster)
            trustDomain: \(trustDomain)
            identity: {cert: east.pem, key: east.key, trust: bundle.pem}
            """, fileName: "east.yaml", baseDirectory: pki)
    }

    func bundle(anchorsFrom file: String, cluster: String = "west") throws -> LinkBundle {
        let anchors = try PEMCertificates.parse(try String(contentsOfFile: pki + "/" + file, encoding: .utf8))
        let made = LinkBundle(
            cluster: cluster, gateways: [HostPort(host: "west.example.com", port: 4143)],
            identity: try WorkloadIdentity.parse("spiffe://cluster.local/ns/meshgate-\(cluster)/sa/gateway"), anchors: anchors)
        return try LinkBundle.parse(yaml: made.render(), fileName: "\(cluster).link.yaml")
    }

    @Test func sharedAnchorIsAccepted() throws {
        let west = try bundle(anchorsFrom: "bundle.pem")
        #expect(west.anchors.count == 1)
        try west.checkSharesAnchor(withTrustBundleAt: pki + "/bundle.pem")
        try west.checkLinkable(into: try config())
        // One shared anchor among several is enough (anchor rotation).
        let two = try PEMCertificates.parse(try String(contentsOfFile: pki + "/rogue-bundle.pem", encoding: .utf8)) + west.anchors
        let rotated = LinkBundle(cluster: "west", gateways: west.gateways, identity: west.identity, anchors: two)
        try rotated.checkLinkable(into: try config())
    }

    @Test func foreignAnchorIsRefused() throws {
        let rogue = try bundle(anchorsFrom: "rogue-bundle.pem")
        let east = try config()
        #expect(errorLines { () throws(ConfigErrors) in try rogue.checkLinkable(into: east) } == [
            "west.link.yaml:7: anchors: shares no certificate with our trust bundle \(pki)/bundle.pem (1 here, 1 there); linked clusters must share a trust anchor"
        ])
    }

    @Test func ownClusterAndOtherTrustDomainAreRefused() throws {
        let own = try bundle(anchorsFrom: "bundle.pem", cluster: "east")
        let (east, otherDomain) = (try config(), try config(trustDomain: "example.org"))
        let west = try bundle(anchorsFrom: "bundle.pem")
        #expect(errorLines { () throws(ConfigErrors) in try own.checkLinkable(into: east) } == [
            "east.link.yaml:3: cluster: 'east' is this cluster's own name; a cluster does not link to itself"
        ])
        #expect(errorLines { () throws(ConfigErrors) in try west.checkLinkable(into: otherDomain) } == [
            "west.link.yaml:6: identity: trust domain 'cluster.local' differs from ours ('example.org'); linked clusters share one trust domain"
        ])
    }

    @Test func unreadableOrEmptyTrustBundle() throws {
        let west = try bundle(anchorsFrom: "bundle.pem")
        #expect(throws: ConfigErrors.self) { try west.checkSharesAnchor(withTrustBundleAt: pki + "/missing.pem") }
        #expect(errorLines { () throws(ConfigErrors) in try west.checkSharesAnchor(withTrustBundleAt: pki + "/east.key") } == [
            "\(pki)/east.key: trust bundle: PEM line 1: a PRIVATE KEY block; only CERTIFICATE blocks belong here"
        ])
    }
}

@Suite struct LinkBundleFolderTests {
    @Test func listsAndLoadsEachBundle() throws {
        let folder = try TemporaryFolder(prefix: "meshgate-control")
        defer { folder.remove() }
        let west = try LinkBundle.parse(yaml: LinkBundleTests.good)
        let north = LinkBundle(
            cluster: "north", gateways: [HostPort(host: "10.9.0.1", port: 4143)],
            identity: try WorkloadIdentity.parse("spiffe://cluster.local/ns/meshgate-north/sa/gateway"), anchors: [LinkBundleTests.derB])
        try folder.write("west.link.yaml", west.render())
        try folder.write("north.link.yaml", north.render())
        try folder.write("east.link.yaml", LinkBundleTests.good.replacingOccurrences(of: "kind: Link", with: "kind: Lnk"))
        try folder.write("south.link.yaml", north.render())
        try folder.write(".west.link.yaml.tmp-1-2", "partial")
        try folder.write("notes.txt", "not a bundle")
        try FileManager.default.createDirectory(atPath: folder.file("sub"), withIntermediateDirectories: false)

        #expect(try LinksFolder.files(in: folder.path) == ["east", "north", "south", "west"].map { folder.file("\($0).link.yaml") })
        let listing = LinksFolder.load(folder: folder.path)
        #expect(listing.bundles == [north, west])
        #expect(listing.bundles.map(\.origin?.file) == [folder.file("north.link.yaml"), folder.file("west.link.yaml")])
        #expect(listing.errors.map(\.description) == [
            "\(folder.file("east.link.yaml")):2: kind: 'Lnk' is not Link",
            "\(folder.file("south.link.yaml")):3: cluster: 'north' does not match the file name (expected south, or rename the file north.link.yaml)",
        ])
    }

    @Test func emptyAndMissingFolders() throws {
        let folder = try TemporaryFolder(prefix: "meshgate-control")
        defer { folder.remove() }
        let empty = LinksFolder.load(folder: folder.path)
        #expect(empty.bundles.isEmpty && empty.errors.isEmpty)
        let missing = LinksFolder.load(folder: folder.file("nope"))
        #expect(missing.bundles.isEmpty)
        #expect(missing.errors.count == 1)
        #expect(missing.errors.first?.description.hasPrefix("\(folder.file("nope")): cannot list the links folder:") == true)
    }
}

/// A throwaway PKI as `scripts/test-pki` writes it (anchor in `bundle.pem`, east's gateway leaf
/// under east's issuer, a rogue anchor in `rogue-bundle.pem`), made once per test process with
/// the test kit's `TestPKI`.
enum LinkTestPKI {
    static func folder() throws -> String { try result.get() }

    private static let result = ProcessFixture.make {
        let pki = try TestPKI.temporary("link")
        let anchor = try pki.anchor("anchor", commonName: "meshgate test anchor")
        try pki.writeBundle([anchor])
        try pki.writeBundle([try pki.anchor("rogue-anchor", commonName: "rogue anchor")], to: "rogue-bundle.pem")
        let east = try pki.issuer("east-issuer", subject: "/CN=meshgate issuer east", signedBy: anchor)
        try pki.leaf("east", serviceAccount: "gateway", namespace: "meshgate-east", signedBy: east)
        return pki.directory
    }
}
