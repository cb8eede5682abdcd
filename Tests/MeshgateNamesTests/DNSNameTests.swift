import MeshgateNames
import Testing

/// DNS labels, dotted names and host names: the one copy of these rules.
@Suite struct DNSNameTests {
    @Test func labels() {
        for good in ["a", "west", "meshgate-west", "a1", String(repeating: "a", count: 63)] { #expect(DNSName.isLabel(good), "\(good)") }
        for bad in ["", "-a", "a-", "West", "a.b", "a_b", String(repeating: "a", count: 64)] { #expect(!DNSName.isLabel(bad), "\(bad)") }
    }

    @Test func names() {
        #expect(DNSName.isName("cluster.local"))
        #expect(DNSName.isName("a"))
        #expect(!DNSName.isName("cluster..local"))
        #expect(!DNSName.isName("Cluster.local"))
        #expect(!DNSName.isName(String(repeating: "a.", count: 127) + "ab"))
    }

    @Test func hostNamesAllowCaseUnderscoreAndATrailingDot() {
        #expect(DNSName.isHostName("West-GW.example.com."))
        #expect(DNSName.isHostName("_srv.internal"))
        #expect(!DNSName.isHostName(""))
        #expect(!DNSName.isHostName("a..b"))
        #expect(!DNSName.isHostName("-a.b"))
    }

    @Test func labelProblemsSayWhy() {
        #expect(DNSName.labelProblem("west") == nil)
        #expect(DNSName.labelProblem("") == "must not be empty")
        #expect(DNSName.labelProblem(String(repeating: "a", count: 64))?.contains("longer than 63") == true)
        #expect(DNSName.labelProblem("West")?.contains("not a DNS label") == true)
    }
}
