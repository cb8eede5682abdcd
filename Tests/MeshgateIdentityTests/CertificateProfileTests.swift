import Foundation
import MeshgateIdentity
import Testing
import X509

@Suite("What the anchor, issuers and leaves contain")
struct CertificateProfileTests {
    @Test("the anchor is a self-signed CA naming the trust domain, valid 10 years from 5 minutes ago")
    func anchor() throws {
        let anchor = try TrustAnchor.create(trustDomain: "cluster.local", now: Fixtures.now)
        let c = anchor.certificate
        #expect(c.subject == c.issuer)
        #expect(c.subject.description == "CN=meshgate trust anchor cluster.local,O=cluster.local")
        #expect(try c.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: nil))
        #expect(c.extensions[oid: .X509ExtensionID.basicConstraints]?.critical == true)
        #expect(try c.extensions.keyUsage == KeyUsage(keyCertSign: true, cRLSign: true))
        #expect(c.extensions[oid: .X509ExtensionID.keyUsage]?.critical == true)
        #expect(try c.extensions.subjectKeyIdentifier != nil)
        #expect(c.notValidBefore == Fixtures.now.addingTimeInterval(-300))
        #expect(c.notValidAfter == Fixtures.now.addingTimeInterval(87_600 * 3_600))
        #expect(anchor.trustDomain == "cluster.local")
        #expect(IdentityNames.trustDomain(of: c) == "cluster.local")
    }

    @Test("an issuer is a path-length-0 CA for its cluster, its AKI is the anchor's SKI")
    func issuer() throws {
        let pki = try Fixtures.PKI()
        let c = pki.west.certificate
        #expect(c.subject.description == "CN=meshgate issuer west,O=cluster.local")
        #expect(c.issuer == pki.anchor.certificate.subject)
        #expect(try c.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
        #expect(c.extensions[oid: .X509ExtensionID.basicConstraints]?.critical == true)
        #expect(try c.extensions.keyUsage?.keyCertSign == true)
        let aki = try #require(try c.extensions.authorityKeyIdentifier)
        #expect(aki.keyIdentifier == (try pki.anchor.certificate.extensions.subjectKeyIdentifier)?.keyIdentifier)
        #expect(pki.anchor.certificate.publicKey.isValidSignature(c.signature, for: c))
        #expect(pki.west.cluster == "west" && pki.west.trustDomain == "cluster.local")
        #expect(IdentityNames.cluster(of: c) == "west")
        #expect(c.notValidAfter == Fixtures.now.addingTimeInterval(8_760 * 3_600))
    }

    @Test("a leaf is CA:false for digitalSignature, server and client auth, both identity SANs")
    func leaf() throws {
        let pki = try Fixtures.PKI()
        let leaf = try LeafIdentity.issue(issuer: pki.west, namespace: "shop", serviceAccount: "web", now: Fixtures.now)
        let c = leaf.certificate
        #expect(try c.extensions.basicConstraints == .notCertificateAuthority)
        #expect(try c.extensions.keyUsage == KeyUsage(digitalSignature: true))
        #expect(c.extensions[oid: .X509ExtensionID.keyUsage]?.critical == true)
        #expect(try c.extensions.extendedKeyUsage == ExtendedKeyUsage([.serverAuth, .clientAuth]))
        let sans = try #require(try c.extensions.subjectAlternativeNames)
        #expect(Array(sans) == [
            .dnsName("web.shop.serviceaccount.identity.cluster.local"), .uniformResourceIdentifier("spiffe://cluster.local/ns/shop/sa/web"),
        ])
        #expect(c.notValidBefore == Fixtures.now.addingTimeInterval(-300))
        #expect(c.notValidAfter == Fixtures.now.addingTimeInterval(86_400))
        #expect(leaf.clampedFrom == nil)
        #expect(pki.west.certificate.publicKey.isValidSignature(c.signature, for: c))
        #expect(!pki.east.certificate.publicKey.isValidSignature(c.signature, for: c))
    }

    @Test("--gateway names the issuer's cluster")
    func gatewayLeaf() throws {
        let pki = try Fixtures.PKI()
        let west = try LeafIdentity.issueGateway(issuer: pki.west, now: Fixtures.now)
        let east = try LeafIdentity.issueGateway(issuer: pki.east, now: Fixtures.now)
        #expect(west.identity.spiffeURI == "spiffe://cluster.local/ns/meshgate-west/sa/gateway")
        #expect(east.identity.spiffeURI == "spiffe://cluster.local/ns/meshgate-east/sa/gateway")
    }

    @Test("a leaf asking for more than its issuer has ends with the issuer, and says so")
    func clampsToIssuer() throws {
        let anchor = try TrustAnchor.create(trustDomain: "cluster.local", now: Fixtures.now)
        let issuer = try ClusterIssuer.create(anchor: anchor, cluster: "west", validity: .seconds(48 * 3_600), now: Fixtures.now)
        let leaf = try LeafIdentity.issue(
            issuer: issuer, namespace: "shop", serviceAccount: "web", validity: .seconds(30 * 86_400), now: Fixtures.now)
        #expect(leaf.certificate.notValidAfter == issuer.certificate.notValidAfter)
        #expect(leaf.clampedFrom == Fixtures.now.addingTimeInterval(30 * 86_400))
        let fits = try LeafIdentity.issue(issuer: issuer, namespace: "shop", serviceAccount: "web", now: Fixtures.now)
        #expect(fits.clampedFrom == nil)
    }

    @Test("an issuer asking for more than the anchor has ends with the anchor")
    func issuerClampsToAnchor() throws {
        let anchor = try TrustAnchor.create(trustDomain: "cluster.local", validity: .seconds(3_600), now: Fixtures.now)
        let issuer = try ClusterIssuer.create(anchor: anchor, cluster: "west", now: Fixtures.now)
        #expect(issuer.certificate.notValidAfter == anchor.certificate.notValidAfter)
        #expect(issuer.clampedFrom != nil)
    }

    @Test("an expired issuer cannot sign")
    func expiredIssuerRefuses() throws {
        let pki = try Fixtures.PKI()
        let later = Fixtures.now.addingTimeInterval(400 * 86_400)
        let error = #expect(throws: IdentityError.self) {
            try LeafIdentity.issue(issuer: pki.west, namespace: "shop", serviceAccount: "web", now: later)
        }
        #expect(error?.code == .expired)
        #expect(error?.message.contains("issuer west expired") == true)
    }

    @Test("bad names and validities are refused with the value in the message")
    func badArguments() throws {
        let pki = try Fixtures.PKI()
        let cases: [(() throws -> Void, String)] = [
            ({ _ = try TrustAnchor.create(trustDomain: "Cluster.Local", now: Fixtures.now) }, "Cluster.Local"),
            ({ _ = try ClusterIssuer.create(anchor: pki.anchor, cluster: "us.west", now: Fixtures.now) }, "us.west"),
            ({ _ = try LeafIdentity.issue(issuer: pki.west, namespace: "a.b", serviceAccount: "web", now: Fixtures.now) }, "a.b"),
            ({ _ = try LeafIdentity.issue(issuer: pki.west, namespace: "shop", serviceAccount: "We b", now: Fixtures.now) }, "We b"),
            ({ _ = try TrustAnchor.create(trustDomain: "cluster.local", validity: .zero, now: Fixtures.now) }, "validity"),
        ]
        for (body, named) in cases {
            let error = #expect(throws: IdentityError.self) { try body() }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(named) == true, "\(String(describing: error)) should name \(named)")
        }
    }
}
