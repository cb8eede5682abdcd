import Foundation
import MeshgateIdentity
import Testing

@Suite("Inspecting certificates")
struct InspectTests {
    @Test("a chain: the leaf with its identities marked, then the issuer CA; time left is counted from now")
    func chain() throws {
        let pki = try Fixtures.PKI()
        let leaf = try LeafIdentity.issueGateway(issuer: pki.west, now: Fixtures.now)
        let certificates = try PEMCodec.certificates(in: leaf.pemCertificate, path: "tls.crt")
        let summaries = certificates.map { CertificateSummary($0, now: Fixtures.now.addingTimeInterval(60)) }
        #expect(summaries.count == 2)

        let l = summaries[0]
        #expect(!l.isCA && l.kind == "leaf")
        #expect(l.keyType == "ECDSA P-256")
        #expect(l.status == .valid)
        #expect(l.timeLeft == "expires in 23h59m")
        #expect(l.identity == "spiffe://cluster.local/ns/meshgate-west/sa/gateway")
        #expect(l.names.map(\.type) == ["DNS", "URI"])
        #expect(l.names.allSatisfy { $0.identity == l.identity })
        #expect(l.issuer == "CN=meshgate issuer west,O=cluster.local")
        #expect(l.text.contains("DNS:gateway.meshgate-west.serviceaccount.identity.cluster.local  [meshgate identity]"))

        let i = summaries[1]
        #expect(i.isCA && i.pathLength == 0 && !i.isSelfSigned)
        #expect(i.kind == "CA (path length 0)")
        #expect(i.identity == nil && i.names.isEmpty)

        let anchor = CertificateSummary(pki.anchor.certificate, now: Fixtures.now)
        #expect(anchor.kind == "CA (trust anchor, self-signed)")
    }

    @Test("a certificate issued in the past shows as EXPIRED with how long ago")
    func expired() throws {
        let past = Fixtures.now.addingTimeInterval(-3 * 86_400)
        let anchor = try TrustAnchor.create(trustDomain: "cluster.local", now: past)
        let issuer = try ClusterIssuer.create(anchor: anchor, cluster: "west", now: past)
        let leaf = try LeafIdentity.issue(issuer: issuer, namespace: "shop", serviceAccount: "web", validity: .seconds(86_400), now: past)
        // Expired at past + 24h; seen two days later.
        let summary = CertificateSummary(leaf.certificate, now: Fixtures.now)
        #expect(summary.status == .expired)
        #expect(summary.secondsLeft == -2 * 86_400)
        #expect(summary.timeLeft == "EXPIRED 2d ago")
        #expect(summary.text.contains("EXPIRED 2d ago"))
        let issuerSummary = CertificateSummary(issuer.certificate, now: Fixtures.now)
        #expect(issuerSummary.status == .valid)
    }

    @Test("a certificate seen before its notBefore is not yet valid")
    func notYetValid() throws {
        let pki = try Fixtures.PKI()
        let summary = CertificateSummary(pki.anchor.certificate, now: Fixtures.now.addingTimeInterval(-3_600))
        #expect(summary.status == .notYetValid)
        #expect(summary.timeLeft.hasPrefix("NOT YET VALID"))
    }

    @Test("JSON carries the same facts, with ISO 8601 dates")
    func json() throws {
        let pki = try Fixtures.PKI()
        let leaf = try LeafIdentity.issue(issuer: pki.east, namespace: "shop", serviceAccount: "web", now: Fixtures.now)
        let summary = CertificateSummary(leaf.certificate, now: Fixtures.now)
        let text = CertificateSummary.json([summary])
        let data = Data(text.utf8)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let back = try decoder.decode([CertificateSummary].self, from: data)
        #expect(back == [summary])
        #expect(text.contains("\"identity\" : \"spiffe://cluster.local/ns/shop/sa/web\""))
        #expect(text.contains("\"notAfter\" : \"2030-06-02T12:00:00Z\""))
        #expect(text.contains("\"status\" : \"valid\""))
    }

    @Test("loading a file that is not there names it")
    func missingFile() {
        let error = #expect(throws: IdentityError.self) { try CertificateSummary.load(path: "/nonexistent/tls.crt") }
        #expect(error?.message == "cannot read /nonexistent/tls.crt: No such file or directory")
    }
}
