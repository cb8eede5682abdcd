import Foundation
import MeshgateIdentity
import Testing

/// The written files, checked by the real `openssl` command line.
@Suite("openssl accepts the chain", .enabled(if: FileManager.default.isExecutableFile(atPath: Subprocess.openssl)))
struct OpenSSLTests {
    /// `-attime` for openssl: the fixed issuing time plus a minute.
    let atTime = String(Int64(Fixtures.now.timeIntervalSince1970) + 60)

    @Test("openssl verify -CAfile ca.crt -untrusted issuer.crt tls.crt succeeds; a leaf of another anchor fails")
    func verify() throws {
        try Fixtures.withPKI { folder, pki in
            let issuerFolder = try Fixtures.write(pki.west.files, to: folder, "issuer-west")
            let leafFolder = try Fixtures.workload("shop", "web", of: pki.west, in: folder, "leaf").folder

            let good = try Subprocess.opensslVerify(
                at: atTime, caFile: leafFolder + "/ca.crt", untrusted: issuerFolder + "/issuer.crt", leafFolder + "/tls.crt")
            #expect(good.status == 0, "\(good.output)")
            #expect(good.output.contains(": OK"))

            // The same leaf checked against another trust domain's anchor.
            let other = try Fixtures.PKI(trustDomain: "other.example")
            let otherFolder = try Fixtures.write(other.west.files, to: folder, "other-west")
            let bad = try Subprocess.opensslVerify(
                at: atTime, caFile: otherFolder + "/ca.crt", untrusted: issuerFolder + "/issuer.crt", leafFolder + "/tls.crt")
            #expect(bad.status != 0)
            #expect(bad.output.contains("unable to get"), "\(bad.output)")

            // A leaf of the other anchor, checked against ours.
            let strangerFolder = try Fixtures.workload("shop", "web", of: other.west, in: folder, "stranger").folder
            let refused = try Subprocess.opensslVerify(
                at: atTime, caFile: leafFolder + "/ca.crt", untrusted: strangerFolder + "/tls.crt", strangerFolder + "/tls.crt")
            #expect(refused.status != 0, "\(refused.output)")
        }
    }

    @Test("openssl verify fails after the leaf expires")
    func verifyExpired() throws {
        try Fixtures.withPKI { folder, pki in
            let leafFolder = try Fixtures.workload("shop", "web", of: pki.west, in: folder, "leaf").folder
            let dayLater = String(Int64(Fixtures.now.timeIntervalSince1970) + 86_400 + 60)
            let result = try Subprocess.opensslVerify(
                at: dayLater, caFile: leafFolder + "/ca.crt", untrusted: leafFolder + "/tls.crt", leafFolder + "/tls.crt")
            #expect(result.status != 0)
            #expect(result.output.contains("certificate has expired"), "\(result.output)")
        }
    }

    @Test("openssl x509 -text shows the SANs, pathlen:0 and the CA flags")
    func text() throws {
        try Fixtures.withPKI { folder, pki in
            let anchorFolder = try Fixtures.write(pki.anchor.files, to: folder, "anchor")
            let issuerFolder = try Fixtures.write(pki.west.files, to: folder, "issuer")
            let leafFolder = try Fixtures.gateway(of: pki.west, in: folder, "leaf").folder

            let anchorText = try Subprocess.run(Subprocess.openssl, ["x509", "-noout", "-text", "-in", anchorFolder + "/anchor.crt"]).output
            #expect(anchorText.contains("X509v3 Basic Constraints: critical\n                CA:TRUE\n"))
            #expect(anchorText.contains("X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign"))
            #expect(anchorText.contains("X509v3 Subject Key Identifier"))
            #expect(anchorText.contains("Subject: O = cluster.local, CN = meshgate trust anchor cluster.local"))
            #expect(anchorText.contains("ASN1 OID: prime256v1"))

            let issuerText = try Subprocess.run(Subprocess.openssl, ["x509", "-noout", "-text", "-in", issuerFolder + "/issuer.crt"]).output
            #expect(issuerText.contains("CA:TRUE, pathlen:0"))
            #expect(issuerText.contains("Subject: O = cluster.local, CN = meshgate issuer west"))
            #expect(issuerText.contains("X509v3 Authority Key Identifier"))

            // tls.crt holds the leaf first; openssl x509 reads the first certificate.
            let leafText = try Subprocess.run(Subprocess.openssl, ["x509", "-noout", "-text", "-in", leafFolder + "/tls.crt"]).output
            #expect(leafText.contains("CA:FALSE"))
            #expect(leafText.contains("X509v3 Key Usage: critical\n                Digital Signature"))
            #expect(leafText.contains("TLS Web Server Authentication, TLS Web Client Authentication"))
            #expect(leafText.contains(
                "DNS:gateway.meshgate-west.serviceaccount.identity.cluster.local, URI:spiffe://cluster.local/ns/meshgate-west/sa/gateway"))
            #expect(leafText.contains("Signature Algorithm: ecdsa-with-SHA256"))

            // The key file is a P-256 key openssl reads, and it belongs to the leaf.
            let keyPub = try Subprocess.run(Subprocess.openssl, ["pkey", "-in", leafFolder + "/tls.key", "-pubout"]).output
            let certPub = try Subprocess.run(Subprocess.openssl, ["x509", "-noout", "-pubkey", "-in", leafFolder + "/tls.crt"]).output
            #expect(keyPub.contains("BEGIN PUBLIC KEY"))
            #expect(keyPub == certPub)
        }
    }
}
