import MeshgateIdentity
import MeshgateTLS
import Testing

@Suite("Workload identities agree with the TLS engine's")
struct WorkloadIdentityTests {
    @Test("both forms name the same identity, and MeshgateTLS parses them to the same parts")
    func formsAgree() throws {
        let identity = try #require(WorkloadIdentity(trustDomain: "cluster.local", namespace: "shop", serviceAccount: "web"))
        #expect(identity.dnsName == "web.shop.serviceaccount.identity.cluster.local")
        #expect(identity.spiffeURI == "spiffe://cluster.local/ns/shop/sa/web")
        #expect(WorkloadIdentity(dnsName: identity.dnsName) == identity)
        #expect(WorkloadIdentity(spiffeURI: identity.spiffeURI) == identity)
        let tls = try #require(TLSIdentity(spiffeURI: identity.spiffeURI))
        #expect(tls.dnsName == identity.dnsName)
        #expect(tls == TLSIdentity(dnsName: identity.dnsName))
    }

    @Test("the gateway identity names its cluster")
    func gateway() throws {
        let west = try #require(WorkloadIdentity.gateway(cluster: "west", trustDomain: "cluster.local"))
        #expect(west.spiffeURI == "spiffe://cluster.local/ns/meshgate-west/sa/gateway")
        #expect(WorkloadIdentity.gateway(cluster: "West", trustDomain: "cluster.local") == nil)
        #expect(WorkloadIdentity.gateway(cluster: String(repeating: "a", count: 60), trustDomain: "cluster.local") == nil)
    }

    @Test("names that are not identities are refused like MeshgateTLS refuses them", arguments: [
        "spiffe://cluster.local/ns/Shop/sa/web", "spiffe://cluster.local/ns/shop/sa/", "spiffe://cluster.local/web",
        "web.shop.cluster.local", "web.serviceaccount.identity.cluster.local", "https://cluster.local/ns/shop/sa/web",
    ])
    func refused(_ text: String) {
        let ours = text.hasPrefix("spiffe://") ? WorkloadIdentity(spiffeURI: text) : WorkloadIdentity(dnsName: text)
        #expect(ours == nil)
        #expect(TLSIdentity(text) == nil)
    }
}
