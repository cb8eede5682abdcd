import Foundation
import MeshgateIdentity
import Testing

@testable import MeshgateControl
import MeshgateTestKit

/// `meshgate check`'s identity-renewal line and `/status`'s expiry warning.
@Suite struct RenewalCheckTests {
    static func config(_ folder: TemporaryFolder, cluster: String = "west", issuer: String) -> GatewayConfig {
        GatewayConfig(
            cluster: cluster,
            identity: IdentityFiles(
                cert: folder.file("tls.crt"), key: folder.file("tls.key"), trust: folder.file("ca.crt"),
                renew: IdentityRenewal(issuer: issuer)))
    }

    @Test func issuerFolderIsChecked() throws {
        let folder = try TemporaryFolder(prefix: "meshgate-control")
        defer { folder.remove() }
        let anchor = try TrustAnchor.create(trustDomain: "cluster.local")
        try MeshgateIdentity.IdentityFiles.write(
            try ClusterIssuer.create(anchor: anchor, cluster: "west").files, into: folder.file("west"), force: false)
        try MeshgateIdentity.IdentityFiles.write(
            try ClusterIssuer.create(anchor: anchor, cluster: "east").files, into: folder.file("east"), force: false)
        try MeshgateIdentity.IdentityFiles.write(
            try ClusterIssuer.create(anchor: anchor, cluster: "west", validity: .seconds(3600)).files, into: folder.file("short"),
            force: false)
        let now = Date()
        #expect(
            GatewayCheck.renewalCheck(GatewayConfig(cluster: "west", identity: IdentityFiles(cert: "c", key: "k", trust: "t")), now: now)
                == nil)
        #expect(GatewayCheck.renewalCheck(Self.config(folder, issuer: folder.file("west")), now: now)?.status == .ok)
        let wrong = GatewayCheck.renewalCheck(Self.config(folder, issuer: folder.file("east")), now: now)
        #expect(wrong?.status == .failed && wrong?.detail.contains("issuer of cluster east") == true)
        #expect(GatewayCheck.renewalCheck(Self.config(folder, issuer: folder.file("missing")), now: now)?.status == .failed)
        let short = GatewayCheck.renewalCheck(Self.config(folder, issuer: folder.file("short")), now: now)
        #expect(short?.status == .warning, "an issuer ending within a leaf's validity: \(short?.detail ?? "")")
        #expect(
            GatewayCheck.renewalCheck(Self.config(folder, issuer: folder.file("west")), now: now.addingTimeInterval(400 * 86400))?.status
                == .failed)
    }

    @Test func statusWarnsBelowAnHour() {
        let now = Date()
        #expect(GatewayStatus.expiryWarning(notAfter: now.addingTimeInterval(7200), now: now, renewal: nil) == nil)
        #expect(GatewayStatus.expiryWarning(notAfter: nil, now: now, renewal: nil) == nil)
        let plain = GatewayStatus.expiryWarning(notAfter: now.addingTimeInterval(600), now: now, renewal: nil)
        #expect(
            plain?.hasPrefix("the certificate expires in 10m") == true && plain?.contains("identity.renew is not set") == true,
            "\(plain ?? "")")
        var status = LeafRenewer.Status()
        status.consecutiveFailures = 3
        status.lastError = "issuer expired"
        let failing = GatewayStatus.expiryWarning(notAfter: now.addingTimeInterval(600), now: now, renewal: .init(status))
        #expect(failing?.contains("renewal failing (3 attempts): issuer expired") == true, "\(failing ?? "")")
    }
}
