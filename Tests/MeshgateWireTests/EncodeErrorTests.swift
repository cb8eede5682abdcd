import MeshgateWire
import Testing

@Suite struct EncodeErrorTests {
    private func encodeError(_ header: TransportHeader) -> TransportHeaderError? {
        do {
            _ = try header.encoded()
            return nil
        } catch {
            return error  // typed: TransportHeaderError
        }
    }

    private func connect(_ namespace: String = "default", _ name: String = "redis", port: UInt16 = 6379, identity: String? = nil) -> TransportHeader {
        .connect(ConnectTarget(namespace: namespace, name: name, port: port), clientIdentity: identity)
    }

    @Test(arguments: ["", "Default", "-x", "x-", "a.b", "é", String(repeating: "a", count: 64)])
    func invalidLabelsThrow(label: String) {
        #expect(encodeError(connect(label)) == .invalidField("namespace"))
        #expect(encodeError(connect("default", label)) == .invalidField("name"))
        #expect(encodeError(.discover(cluster: label)) == .invalidField("cluster"))
    }

    @Test func portZeroThrows() {
        #expect(encodeError(connect(port: 0)) == .invalidField("port"))
    }

    @Test(arguments: ["", "spiffe://a b", "line\nbreak", "spiffe://é", String(repeating: "x", count: 513)])
    func invalidIdentitiesThrow(identity: String) {
        #expect(encodeError(connect(identity: identity)) == .invalidField("client_identity"))
    }

    @Test func validEdgeValuesEncode() {
        #expect(encodeError(connect("a", "0", port: 1, identity: "!")) == nil)
        #expect(encodeError(connect("a-b", String(repeating: "z", count: 63), identity: String(repeating: "~", count: 512))) == nil)
        #expect(encodeError(.probe(nonce: .max)) == nil)
    }

    @Test func failedEncodeAppendsNothing() {
        var buffer: [UInt8] = [1, 2, 3]
        #expect(throws: TransportHeaderError.invalidField("client_identity")) {
            try connect(identity: "has space").encode(into: &buffer)
        }
        #expect(buffer == [1, 2, 3])
    }
}
