import Testing
@testable import MeshgateLoad

@Suite("Endpoint and durations")
struct EndpointTests {
    @Test("parses IPv4, IPv6 and names")
    func parse() throws {
        #expect(try Endpoint.parse("127.0.0.1:7000") == Endpoint(host: "127.0.0.1", port: 7000))
        #expect(try Endpoint.parse("[::1]:7000") == Endpoint(host: "::1", port: 7000))
        #expect(try Endpoint.parse("localhost:80") == Endpoint(host: "localhost", port: 80))
        #expect(Endpoint(host: "::1", port: 7).description == "[::1]:7")
    }

    @Test("rejects malformed text", arguments: ["127.0.0.1", ":80", "host:", "host:70000", "::1:80", "[::1]80"])
    func rejects(_ text: String) {
        #expect(throws: LoadError.self) { try Endpoint.parse(text) }
    }
}
