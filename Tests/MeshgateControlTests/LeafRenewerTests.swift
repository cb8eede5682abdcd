import Foundation
import Logging
import MeshgateIdentity
import Testing
import X509

@testable import MeshgateControl
import MeshgateTestKit

/// LeafRenewer's steps without a gateway: when it renews, what it writes, how failures back off.
@Suite struct LeafRenewerTests {
    final class Reloads: @unchecked Sendable {
        let lock = NSLock()
        var calls: [[String]] = []
        func add(_ paths: [String]) {
            lock.lock()
            calls.append(paths)
            lock.unlock()
        }
    }

    static func config(_ folder: TemporaryFolder, issuer: String, before: Duration = .seconds(100)) -> GatewayConfig {
        GatewayConfig(
            cluster: "west",
            identity: IdentityFiles(
                cert: folder.file("id/tls.crt"), key: folder.file("id/tls.key"), trust: folder.file("id/ca.crt"),
                renew: IdentityRenewal(issuer: issuer, before: before, validity: .seconds(120))))
    }

    @Test func renewsADueLeafWithTheSameIdentityAndANewKey() throws {
        let folder = try TemporaryFolder(prefix: "meshgate-control")
        defer { folder.remove() }
        let anchor = try TrustAnchor.create(trustDomain: "cluster.local")
        let issuer = try ClusterIssuer.create(anchor: anchor, cluster: "west")
        try MeshgateIdentity.IdentityFiles.write(issuer.files, into: folder.file("issuer"), force: false)
        let first = try LeafIdentity.issueGateway(issuer: issuer, validity: .seconds(120))
        try MeshgateIdentity.IdentityFiles.write(first.files, into: folder.file("id"), force: false)
        let config = Self.config(folder, issuer: folder.file("issuer"))
        let reloads = Reloads()
        let renewer = LeafRenewer(config: { config }, reload: reloads.add, logger: Logger(label: "test"))

        // 120 s left, renew below 100 s: not due; the next look is at most 30 s away.
        #expect(renewer.step() <= .seconds(30))
        #expect(renewer.status.renewals == 0 && reloads.calls.isEmpty)

        // Due (before: 119 s, and 5 s later: 115 s left): renewed.
        let due = Self.config(folder, issuer: folder.file("issuer"), before: .seconds(119))
        let dueRenewer = LeafRenewer(
            config: { due }, reload: reloads.add, logger: Logger(label: "test"), now: { Date().addingTimeInterval(5) })
        _ = dueRenewer.step()
        #expect(dueRenewer.status.renewals == 1 && dueRenewer.status.failures == 0)
        #expect(reloads.calls == [[folder.file("id/tls.key"), folder.file("id/tls.crt")]])
        let certificates = try PEMCodec.certificates(
            in: try String(contentsOfFile: folder.file("id/tls.crt"), encoding: .utf8), path: "tls.crt")
        let renewed = try #require(certificates.first)
        #expect(renewed.serialNumber != first.certificate.serialNumber)
        #expect(renewed.publicKey != first.certificate.publicKey, "a new key")
        #expect(String(describing: renewed.extensions).contains("spiffe://cluster.local/ns/meshgate-west/sa/gateway"))
        let key = try String(contentsOfFile: folder.file("id/tls.key"), encoding: .utf8)
        #expect(key != first.pemPrivateKey && key.contains("PRIVATE KEY"))
    }

    @Test func failuresAreCountedAndBackOff() throws {
        let folder = try TemporaryFolder(prefix: "meshgate-control")
        defer { folder.remove() }
        let config = Self.config(folder, issuer: folder.file("no-such-issuer"))
        let reloads = Reloads()
        let renewer = LeafRenewer(config: { config }, reload: reloads.add, logger: Logger(label: "test"))
        var waits: [Duration] = []
        for _ in 0..<4 { waits.append(renewer.step()) }
        let status = renewer.status
        #expect(status.failures == 4 && status.consecutiveFailures == 4 && status.renewals == 0)
        #expect(status.lastError?.contains("no-such-issuer") == true, "\(status.lastError ?? "")")
        #expect(reloads.calls.isEmpty)
        // Full jitter in [ceiling/2, ceiling], the ceiling doubling from 1 s.
        for (i, w) in waits.enumerated() {
            let ceiling = Double(1 << i)
            #expect(w.seconds >= ceiling / 2 - 0.001 && w.seconds <= ceiling + 0.001, "attempt \(i + 1): \(w)")
        }
    }
}
