import Testing
import MeshgateLoop
#if canImport(Glibc)
import Glibc
#endif

@Suite struct SocketAddressTests {
    @Test func parsesIPv4() throws {
        let a = try SocketAddress.resolve("127.0.0.1:7000")
        #expect(a.family == AF_INET)
        #expect(a.port == 7000)
        #expect(a.description == "127.0.0.1:7000")
    }

    @Test func parsesBracketedIPv6() throws {
        let a = try SocketAddress.resolve("[::1]:6379")
        #expect(a.family == AF_INET6)
        #expect(a.port == 6379)
        #expect(a.description == "[::1]:6379")
    }

    @Test func resolvesHostNames() throws {
        let a = try SocketAddress.resolve("localhost:80")
        #expect(a.port == 80)
        #expect(a.host == "127.0.0.1" || a.host == "::1")
    }

    @Test(arguments: [
        ("127.0.0.1", "expected HOST:PORT"),
        ("127.0.0.1:99999", "port '99999'"),
        ("127.0.0.1:http", "port 'http'"),
        (":80", "empty host"),
        ("::1:80", "[ADDRESS]:PORT"),
        ("[::1:80", "missing ']'"),
        ("no-such-host.invalid:80", "cannot resolve"),
    ])
    func rejectsBadAddresses(input: String, reason: String) {
        let error = #expect(throws: AddressError.self, "\(input) should not parse") { _ = try SocketAddress.resolve(input) }
        if let error {
            #expect(error.description.contains(reason), "\(error)")
            #expect(error.description.contains(input))
        }
    }

    @Test func equalAddressesHashEqual() throws {
        let a = try SocketAddress.resolve("127.0.0.1:1")
        let b = try SocketAddress.resolve("127.0.0.1:1")
        let c = try SocketAddress.resolve("127.0.0.1:2")
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != c)
    }
}
