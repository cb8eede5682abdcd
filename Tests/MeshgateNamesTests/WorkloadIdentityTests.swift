import MeshgateNames
import Testing

@Suite("Workload identities in both SAN forms, gateway identities")
struct WorkloadIdentityTests {
    @Test("DNS and SPIFFE forms parse to the same identity and print back")
    func bothForms() throws {
        let dns = try #require(WorkloadIdentity(dnsName: "web.shop.serviceaccount.identity.cluster.local"))
        let uri = try #require(WorkloadIdentity(spiffeURI: "spiffe://cluster.local/ns/shop/sa/web"))
        #expect(dns == uri)
        #expect(dns.trustDomain == "cluster.local" && dns.namespace == "shop" && dns.serviceAccount == "web")
        #expect(dns.dnsName == "web.shop.serviceaccount.identity.cluster.local")
        #expect(dns.spiffeURI == "spiffe://cluster.local/ns/shop/sa/web")
        #expect(WorkloadIdentity("spiffe://cluster.local/ns/shop/sa/web") == dns)
        #expect(WorkloadIdentity("WEB.shop.serviceaccount.identity.cluster.local") == dns)
    }

    @Test("a dotted service account name keeps its dots; the namespace is one label")
    func dottedServiceAccount() throws {
        let identity = try #require(WorkloadIdentity(dnsName: "a.b.ns.serviceaccount.identity.td"))
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
        #expect(WorkloadIdentity(text) == nil)
    }

    @Test("the gateway identity names its cluster, and the cluster is read back")
    func gateway() throws {
        let west = try #require(WorkloadIdentity.gateway(cluster: "west", trustDomain: "cluster.local"))
        #expect(west.spiffeURI == "spiffe://cluster.local/ns/meshgate-west/sa/gateway")
        #expect(west.gatewayCluster == "west" && west.isGateway)
        #expect(WorkloadIdentity(spiffeURI: "spiffe://cluster.local/ns/meshgate-west/sa/web")?.isGateway == false)
        #expect(WorkloadIdentity.gateway(cluster: "West", trustDomain: "cluster.local") == nil)
        #expect(WorkloadIdentity.gateway(cluster: String(repeating: "a", count: 60), trustDomain: "cluster.local") == nil)
    }
}
