import Testing

@testable import MeshgateTLS

@Suite("Identities in both SAN forms")
struct TLSIdentityTests {
    @Test("DNS and SPIFFE forms parse to the same identity and print back")
    func bothForms() throws {
        let dns = try #require(TLSIdentity(dnsName: "web.shop.serviceaccount.identity.cluster.local"))
        let uri = try #require(TLSIdentity(spiffeURI: "spiffe://cluster.local/ns/shop/sa/web"))
        #expect(dns == uri)
        #expect(dns.trustDomain == "cluster.local" && dns.namespace == "shop" && dns.serviceAccount == "web")
        #expect(dns.dnsName == "web.shop.serviceaccount.identity.cluster.local")
        #expect(dns.spiffeURI == "spiffe://cluster.local/ns/shop/sa/web")
        #expect(TLSIdentity("spiffe://cluster.local/ns/shop/sa/web") == dns)
        #expect(TLSIdentity("WEB.shop.serviceaccount.identity.cluster.local") == dns)
    }

    @Test("a dotted service account name keeps its dots; the namespace is one label")
    func dottedServiceAccount() throws {
        let identity = try #require(TLSIdentity(dnsName: "a.b.ns.serviceaccount.identity.td"))
        #expect(identity.serviceAccount == "a.b" && identity.namespace == "ns" && identity.trustDomain == "td")
    }

    @Test(
        "malformed names are rejected",
        arguments: [
            "spiffe://cluster.local/ns/shop", "spiffe://cluster.local/ns/shop/sa/", "spiffe://cluster.local/ns//sa/web",
            "spiffe://cluster.local/ns/shop/sa/web/extra", "https://cluster.local/ns/shop/sa/web",
            "web.serviceaccount.identity.cluster.local", "web.shop.serviceaccount.identity.", "web.shop.example.com",
            "spiffe://Cluster_Local/ns/shop/sa/web",
        ])
    func rejects(_ text: String) {
        #expect(TLSIdentity(text) == nil)
    }
}
