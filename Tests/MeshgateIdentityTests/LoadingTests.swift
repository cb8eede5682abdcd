import Foundation
import MeshgateIdentity
import Testing

@Suite("Loading anchors and issuers back from their folders")
struct LoadingTests {
    @Test("an anchor and an issuer round-trip through their files; the trust domain and cluster come from the certificates")
    func roundTrip() throws {
        try Fixtures.withFolder { folder in
            let anchor = try TrustAnchor.create(trustDomain: "mesh.example.org", now: Fixtures.now)
            let anchorFolder = try Fixtures.write(anchor.files, to: folder, "anchor")
            let loadedAnchor = try IdentityFolders.loadAnchor(from: anchorFolder)
            #expect(loadedAnchor.trustDomain == "mesh.example.org")
            #expect(loadedAnchor.certificate == anchor.certificate)

            let issuer = try ClusterIssuer.create(anchor: loadedAnchor, cluster: "eu-1", now: Fixtures.now)
            let issuerFolder = try Fixtures.write(issuer.files, to: folder, "issuer")
            #expect(try String(contentsOfFile: issuerFolder + "/ca.crt", encoding: .utf8) == anchor.pemCertificate)
            let loaded = try IdentityFolders.loadIssuer(from: issuerFolder)
            #expect(loaded.cluster == "eu-1")
            #expect(loaded.trustDomain == "mesh.example.org")
            #expect(loaded.trustBundle == [anchor.certificate])

            let leaf = try LeafIdentity.issueGateway(issuer: loaded, now: Fixtures.now)
            #expect(leaf.identity.spiffeURI == "spiffe://mesh.example.org/ns/meshgate-eu-1/sa/gateway")
        }
    }

    @Test("a bundle with several anchors (rotation) finds the one that signed the issuer")
    func rotationBundle() throws {
        try Fixtures.withPKI { folder, pki in
            let next = try TrustAnchor.create(trustDomain: "cluster.local", now: Fixtures.now)
            let issuerFolder = try Fixtures.writeIssuer(
                pki.west, to: folder, "issuer", replacing: "ca.crt", with: next.pemCertificate + pki.anchor.pemCertificate)
            let loaded = try IdentityFolders.loadIssuer(from: issuerFolder)
            #expect(loaded.trustBundle.count == 2)
            let leaf = try LeafIdentity.issueGateway(issuer: loaded, now: Fixtures.now)
            #expect(try PEMCodec.certificates(in: leaf.pemTrustBundle, path: "bundle").count == 2)
        }
    }

    @Test("an issuer key that is not the issuer's is refused, naming both files")
    func keyMismatch() throws {
        try Fixtures.withPKI { folder, pki in
            let issuerFolder = try Fixtures.writeIssuer(pki.west, to: folder, "issuer", replacing: "issuer.key", with: pki.east.pemPrivateKey)
            let error = #expect(throws: IdentityError.self) { try IdentityFolders.loadIssuer(from: issuerFolder) }
            #expect(error?.code == .keyMismatch)
            #expect(error?.message == "\(issuerFolder)/issuer.key does not belong to the certificate in \(issuerFolder)/issuer.crt")
        }
    }

    @Test("an issuer whose ca.crt holds another anchor is refused as untrusted")
    func wrongBundle() throws {
        try Fixtures.withPKI { folder, pki in
            let other = try TrustAnchor.create(trustDomain: "cluster.local", now: Fixtures.now)
            let issuerFolder = try Fixtures.writeIssuer(pki.west, to: folder, "issuer", replacing: "ca.crt", with: other.pemCertificate)
            let error = #expect(throws: IdentityError.self) { try IdentityFolders.loadIssuer(from: issuerFolder) }
            #expect(error?.code == .untrusted)
            #expect(error?.path == issuerFolder + "/ca.crt")
        }
    }

    @Test("using a leaf folder or an anchor folder as the issuer is refused")
    func notAnIssuer() throws {
        try Fixtures.withPKI { folder, pki in
            let anchorFolder = try Fixtures.write(pki.anchor.files, to: folder, "anchor")
            let missing = #expect(throws: IdentityError.self) { try IdentityFolders.loadIssuer(from: anchorFolder) }
            #expect(missing?.code == .unreadableFile)
            #expect(missing?.message == "cannot read \(anchorFolder)/issuer.crt: No such file or directory")

            // An issuer folder whose issuer.crt is really the anchor: a CA, but not a cluster issuer.
            let fake = folder + "/fake"
            try IdentityFiles.write(
                [
                    IdentityFile(name: "issuer.crt", contents: pki.anchor.pemCertificate, isPrivateKey: false),
                    IdentityFile(name: "issuer.key", contents: pki.anchor.pemPrivateKey, isPrivateKey: true),
                    IdentityFile(name: "ca.crt", contents: pki.anchor.pemCertificate, isPrivateKey: false),
                ], into: fake, force: false)
            let error = #expect(throws: IdentityError.self) { try IdentityFolders.loadIssuer(from: fake) }
            #expect(error?.code == .invalidFile)
            #expect(error?.message.contains("not a meshgate issuer") == true)
        }
    }

    @Test("garbage, empty and key-only files are refused with the file named", arguments: [
        ("garbage", "this is not a certificate\n", "no certificate in the file (no PEM blocks)"),
        ("empty", "", "no certificate in the file (no PEM blocks)"),
        ("broken", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "PEM block 1 is not a valid X.509 certificate"),
        ("unterminated", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "not a PEM file (a BEGIN/END block is malformed or not base64)"),
        ("keyonly", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "no certificate in the file (only PRIVATE KEY)"),
    ])
    func garbage(_ name: String, _ contents: String, _ expected: String) throws {
        let folder = Fixtures.makeFolder()
        defer { Fixtures.removeFolder(folder) }
        let path = folder + "/" + name
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: IdentityError.self) { try PEMCodec.certificates(in: FileReading.text(at: path), path: path) }
        #expect(error?.message == "\(path): \(expected)")
    }
}
