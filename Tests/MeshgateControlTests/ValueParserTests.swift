import MeshgateNames
import Testing

@testable import MeshgateControl

@Suite struct ValueParserTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)), ("5s", .seconds(5)), ("10m", .seconds(600)), ("1h", .seconds(3600)),
        ("1d", .seconds(86400)), ("1h30m", .seconds(5400)), ("1.5s", .milliseconds(1500)), ("0s", .zero),
    ])
    func durationsParse(text: String, expected: Duration) throws {
        #expect(try YAMLValue.duration(text) == expected)
    }

    @Test(arguments: ["", "5", "s", "5x", "-5s", "5 s", "1e3s", "5s5"])
    func badDurationsAreRefused(text: String) {
        #expect(throws: InvalidValue.self) { try YAMLValue.duration(text) }
    }

    @Test func durationsFormatBack() {
        #expect(DurationText.format(.seconds(90)) == "1m30s")
        #expect(DurationText.format(.milliseconds(500)) == "500ms")
        #expect(DurationText.format(.seconds(86400 + 3600)) == "1d1h")
        #expect(DurationText.format(.zero) == "0s")
    }

    @Test func hostPortsParse() throws {
        #expect(try HostPort.parse("10.0.0.2:4143") == HostPort(host: "10.0.0.2", port: 4143))
        #expect(try HostPort.parse("west-gw.example.com:1") == HostPort(host: "west-gw.example.com", port: 1))
        #expect(try HostPort.parse("[::1]:65535") == HostPort(host: "::1", port: 65535))
        #expect(try HostPort.parse("[fd00::2]:4143").description == "[fd00::2]:4143")
        #expect(try HostPort.parse("10.0.0.2:4143").description == "10.0.0.2:4143")
    }

    @Test(arguments: [
        ("10.0.0.2:99999", "port 99999 out of range"),
        ("10.0.0.2:0", "port 0 out of range"),
        ("10.0.0.2:", "missing port number"),
        ("10.0.0.2:http", "'http' is not a port number"),
        ("10.0.0.2", "'10.0.0.2' has no port (expected host:port)"),
        ("::1:80", "'::1:80': an IPv6 address needs brackets, e.g. [::1]:4143"),
        ("[::1]", "'[::1]' has no port (expected [address]:port)"),
        ("[::1:80", "'[::1:80' has '[' without ']'"),
        ("[nope]:80", "'nope' is not an IPv6 address"),
        ("bad host:80", "'bad host' is neither an IP address nor a host name"),
        ("-x.example:80", "'-x.example' is neither an IP address nor a host name"),
    ])
    func badHostPortsExplainThemselves(text: String, message: String) {
        #expect(throws: InvalidValue(message)) { try HostPort.parse(text) }
    }

    @Test func listenAddressOverlap() {
        let any4 = HostPort(host: "0.0.0.0", port: 80)
        let any6 = HostPort(host: "::", port: 80)
        let local4 = HostPort(host: "127.0.0.1", port: 80)
        let local6 = HostPort(host: "::1", port: 80)
        #expect(any4.overlaps(local4))
        #expect(!any4.overlaps(local6))
        #expect(any6.overlaps(local4))
        #expect(local6.overlaps(any6))
        #expect(!local4.overlaps(HostPort(host: "127.0.0.2", port: 80)))
        #expect(!any4.overlaps(HostPort(host: "127.0.0.1", port: 81)))
    }

    @Test func portRanges() throws {
        #expect(try PortRange.parse("4200-4299") == PortRange(lower: 4200, upper: 4299))
        #expect(try PortRange.parse("4200-4299").count == 100)
        #expect(try PortRange.parse("5000") == PortRange(lower: 5000, upper: 5000))
        #expect(throws: InvalidValue("port 70000 out of range")) { try PortRange.parse("4200-70000") }
        #expect(throws: InvalidValue("'1-2-3' is not a port range (expected A-B)")) { try PortRange.parse("1-2-3") }
        #expect(throws: InvalidValue("port range 9-1 is empty (9 > 1)")) { try PortRange.parse("9-1") }
    }

    @Test func identitiesInBothForms() throws {
        let spiffe = try WorkloadIdentity.parse("spiffe://cluster.local/ns/meshgate-west/sa/gateway")
        let dns = try WorkloadIdentity.parse("gateway.meshgate-west.serviceaccount.identity.cluster.local")
        #expect(spiffe == dns)
        #expect(spiffe.namespace == "meshgate-west")
        #expect(spiffe.serviceAccount == "gateway")
        #expect(spiffe.trustDomain == "cluster.local")
        #expect(dns.spiffeURI == "spiffe://cluster.local/ns/meshgate-west/sa/gateway")
        #expect(spiffe.dnsName == "gateway.meshgate-west.serviceaccount.identity.cluster.local")
        #expect(
            WorkloadIdentity.gateway(cluster: "east", trustDomain: "td.example")?.spiffeURI
                == "spiffe://td.example/ns/meshgate-east/sa/gateway")
        #expect(WorkloadIdentity.gateway(cluster: String(repeating: "a", count: 60), trustDomain: "td") == nil)
    }

    @Test(arguments: [
        "spiffe://cluster.local/ns/default", "spiffe://cluster.local/ns/Default/sa/x", "spiffe:///ns/a/sa/b",
        "spiffe://td/ns/a/sa/b/extra", "gateway.meshgate-west.cluster.local", "gateway.serviceaccount.identity.td", "",
    ])
    func malformedIdentitiesAreRefused(text: String) {
        #expect(throws: InvalidValue.self) { try WorkloadIdentity.parse(text) }
    }

    @Test func dnsLabelsAndNames() {
        #expect(DNSName.isLabel("redis-west"))
        #expect(DNSName.isLabel("a1"))
        #expect(!DNSName.isLabel("Redis"))
        #expect(!DNSName.isLabel("-redis"))
        #expect(!DNSName.isLabel("redis-"))
        #expect(!DNSName.isLabel("re.dis"))
        #expect(!DNSName.isLabel(String(repeating: "a", count: 64)))
        #expect(DNSName.isLabel(String(repeating: "a", count: 63)))
        #expect(DNSName.isName("cluster.local"))
        #expect(!DNSName.isName("cluster..local"))
        #expect(DNSName.isHostName("Gateway_1.Example.COM"))
    }

    @Test func keySuggestions() {
        #expect(KeySuggestion.closest(to: "lisen", in: ["listen", "headerTimeout"]) == "listen")
        #expect(KeySuggestion.closest(to: "nmae", in: ["name", "namespace", "port"]) == "name")
        #expect(KeySuggestion.closest(to: "TRUSTDOMAIN", in: ["trustDomain"]) == "trustDomain")
        #expect(KeySuggestion.closest(to: "colour", in: ["name", "port", "target"]) == nil)
    }

    @Test func pathsResolveAgainstTheConfigFolder() {
        #expect(ConfigFile.resolve("tls.crt", against: "/etc/meshgate") == "/etc/meshgate/tls.crt")
        #expect(ConfigFile.resolve("../ca.crt", against: "/etc/meshgate/") == "/etc/ca.crt")
        #expect(ConfigFile.resolve("/abs/key", against: "/etc/meshgate") == "/abs/key")
        #expect(ConfigFile.resolve("links/", against: "/etc/meshgate") == "/etc/meshgate/links")
        #expect(ConfigFile.resolve("./a/./b", against: "") == "a/b")
    }
}
