import MeshgateWire
import MeshgateTestKit
import Testing

/// Port names on the wire: the `PortName` rule, the `upsertNamed` frame (type 6) and the
/// `discover` header's options extension (tag 128).
@Suite struct PortNameWireTests {
    // MARK: The name rule

    @Test(arguments: ["http", "a", "grpc-web", "h2c", "x1", "1a", "a-b-c", "abcdefghijklmno", "redis-6379", "9x9"])
    func validNames(name: String) {
        #expect(PortName.isValid(name))
        #expect(PortName.problem(name) == nil)
    }

    @Test(arguments: [
        ("", "is empty"), ("abcdefghijklmnop", "is longer than 15 characters"), ("Http", "may hold only lowercase letters, digits and '-'"),
        ("ht_tp", "may hold only lowercase letters, digits and '-'"), ("é", "may hold only lowercase letters, digits and '-'"),
        ("-http", "may not begin or end with '-'"), ("http-", "may not begin or end with '-'"), ("a--b", "may not contain '--'"),
        ("8080", "needs at least one letter"), ("1-2", "needs at least one letter"),
    ])
    func invalidNames(name: String, problem: String) {
        #expect(!PortName.isValid(name))
        #expect(PortName.problem(name) == problem)
    }

    /// 20,000 random strings over `[a-z0-9-_A]`, 0–17 long: `isValid` agrees with a direct
    /// reading of Kubernetes' IANA_SVC_NAME rule, and `problem` is nil exactly for valid names.
    @Test func ruleAgreesWithReference() {
        var rng = SplitMix64(seed: 0x5EED_9A3E)
        let pool = Array("ab-z09-_A".utf8)
        var valid = 0
        var failures: [String] = []
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...17, using: &rng)).map { _ in pool.randomElement(using: &rng)! }
            let name = String(decoding: bytes, as: UTF8.self)
            let expected = Self.referenceIsValid(name)
            if expected { valid += 1 }
            if PortName.isValid(name) != expected || (PortName.problem(name) == nil) != expected { failures.append(name) }
            if failures.count >= 3 { break }
        }
        #expect(failures.isEmpty, "\(failures)")
        #expect(valid > 500)
    }

    static func referenceIsValid(_ name: String) -> Bool {
        let chars = Array(name)
        guard (1...15).contains(chars.count) else { return false }
        guard chars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else { return false }
        guard chars.first != "-", chars.last != "-", !name.contains("--") else { return false }
        return chars.contains { ("a"..."z").contains($0) }
    }

    // MARK: upsertNamed

    /// The example in docs/wire.md ("upsertNamed").
    static let documentedFrame: [UInt8] =
        [0x00, 0x19, 0x06, 0x05] + Array("cache".utf8) + [0x05] + Array("redis".utf8)
        + [0x02, 0x18, 0xEB, 0x05] + Array("redis".utf8) + [0x23, 0x83, 0x00]

    @Test func upsertNamedHasTheDocumentedBytes() throws {
        let service = DiscoveredService(namespace: "cache", name: "redis", ports: [6379, 9091], portNames: ["redis", ""])
        let message = DiscoveryMessage.upsertNamed(service)
        #expect(try message.encoded() == Self.documentedFrame)
        #expect(DiscoveryMessage.decode(Self.documentedFrame) == .complete(message, consumed: Self.documentedFrame.count))
        for length in 0..<Self.documentedFrame.count {
            #expect(DiscoveryMessageTests.decodePrefix(Self.documentedFrame, length) == .needMoreBytes, "prefix \(length)")
        }
        #expect(message.service == service)
        #expect(service.portName(at: 0) == "redis" && service.portName(at: 1) == "" && service.portName(at: 2) == "")
        #expect(service.hasPortNames)
    }

    @Test func plainUpsertLeavesNamesOutAndDecodesUnnamed() throws {
        let named = DiscoveredService(namespace: "cache", name: "redis", ports: [6379, 9091], portNames: ["redis", "metrics"])
        let bytes = try DiscoveryMessage.upsert(named).encoded()
        #expect(bytes == (try DiscoveryMessage.upsert(DiscoveredService(namespace: "cache", name: "redis", ports: [6379, 9091])).encoded()))
        guard case .complete(.upsert(let decoded), _) = DiscoveryMessage.decode(bytes) else {
            Issue.record("no upsert")
            return
        }
        #expect(decoded.portNames == ["", ""])
        #expect(!decoded.hasPortNames)
        // A service built without names holds one "" per port, so both kinds of frame compare equal.
        #expect(DiscoveredService(namespace: "n", name: "s", ports: [1, 2]).portNames == ["", ""])
    }

    @Test func largestUpsertNamed() throws {
        let label = String(repeating: "a", count: 63)
        let ports = (1...UInt16(DiscoveryMessage.maxPortsPerService)).map { $0 }
        let names = ports.map { "p" + String(repeating: "x", count: 10) + String($0, radix: 16).leftPadded(4) }
        let message = DiscoveryMessage.upsertNamed(DiscoveredService(namespace: label, name: label, ports: ports, portNames: names))
        let bytes = try message.encoded()
        #expect(bytes.count == 2 + 1282)
        #expect(bytes.count <= 2 + DiscoveryMessage.maxFrameSize)
        #expect(DiscoveryMessage.decode(bytes) == .complete(message, consumed: bytes.count))
    }

    static let head: [UInt8] = [0x01, 0x61, 0x01, 0x62]  // namespace "a", name "b"

    /// A frame of type 6 with `fields` after namespace and name, length computed.
    static func frame(_ fields: [UInt8]) -> [UInt8] {
        let body: [UInt8] = [0x06] + head + fields
        return [UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    static let decodeErrorCases: [([UInt8], DiscoveryFrameError)] = [
        // A name that breaks the rule, found as early as its bytes allow.
        (frame([0x01, 0x00, 0x50, 0x10] + Array("abcdefghijklmnop".utf8)), .invalidField("port_name")),
        (frame([0x01, 0x00, 0x50, 0x04] + Array("Http".utf8)), .invalidField("port_name")),
        (frame([0x01, 0x00, 0x50, 0x04] + Array("-abc".utf8)), .invalidField("port_name")),
        (frame([0x01, 0x00, 0x50, 0x04] + Array("abc-".utf8)), .invalidField("port_name")),
        (frame([0x01, 0x00, 0x50, 0x04] + Array("a--b".utf8)), .invalidField("port_name")),
        (frame([0x01, 0x00, 0x50, 0x04] + Array("8080".utf8)), .invalidField("port_name")),
        (frame([0x01, 0x00, 0x50, 0x02, 0xC3, 0xA9]), .invalidField("port_name")),
        // Port rules as in upsert.
        (frame([0x01, 0x00, 0x00, 0x00]), .invalidField("ports")),
        (frame([0x02, 0x00, 0x50, 0x00, 0x00, 0x50, 0x00]), .duplicatePort),
        (frame([0x41]), .tooManyPorts),
        // Two ports, one name.
        (frame([0x02, 0x00, 0x50, 0x01, 0x61, 0x01, 0xBB, 0x01, 0x61]), .duplicatePortName),
        // The frame ends inside the port list or a name.
        (frame([0x02, 0x00, 0x50, 0x00]), .truncatedFrame),
        (frame([0x01, 0x00, 0x50, 0x05, 0x61]), .truncatedFrame),
        (frame([0x01, 0x00, 0x50]), .truncatedFrame),
        // Bytes after the last pair.
        (frame([0x01, 0x00, 0x50, 0x00, 0x00]), .trailingBytes),
    ]

    @Test(arguments: decodeErrorCases)
    func upsertNamedDecodeErrors(bytes: [UInt8], error: DiscoveryFrameError) {
        DiscoveryMessageTests.expectDecodeError(bytes, error)
    }

    static let encodeErrorCases: [(DiscoveredService, DiscoveryFrameError)] = [
        (DiscoveredService(namespace: "a", name: "b", ports: [80], portNames: ["HTTP"]), .invalidField("port_name")),
        (DiscoveredService(namespace: "a", name: "b", ports: [80], portNames: ["8080"]), .invalidField("port_name")),
        (DiscoveredService(namespace: "a", name: "b", ports: [80], portNames: ["a--b"]), .invalidField("port_name")),
        (DiscoveredService(namespace: "a", name: "b", ports: [80], portNames: ["abcdefghijklmnop"]), .invalidField("port_name")),
        (DiscoveredService(namespace: "a", name: "b", ports: [80, 443], portNames: ["http"]), .invalidField("port_name")),
        (DiscoveredService(namespace: "a", name: "b", ports: [80, 443], portNames: ["web", "web"]), .duplicatePortName),
        (DiscoveredService(namespace: "a", name: "b", ports: [80, 80], portNames: ["a", "b"]), .duplicatePort),
        (DiscoveredService(namespace: "A", name: "b", ports: [80], portNames: ["http"]), .invalidField("namespace")),
    ]

    @Test(arguments: encodeErrorCases)
    func upsertNamedEncodeErrors(service: DiscoveredService, error: DiscoveryFrameError) {
        #expect(throws: error) { try DiscoveryMessage.upsertNamed(service).encoded() }
    }

    @Test func duplicatePortNameError() {
        #expect(DiscoveryFrameError.duplicatePortName.reason == "duplicate_port_name")
        #expect(DiscoveryFrameError.invalidField("port_name").description == "invalid_field: port_name")
        // Several unnamed ports are fine: "" is not a name.
        let unnamed = DiscoveryMessage.upsertNamed(DiscoveredService(namespace: "a", name: "b", ports: [1, 2, 3]))
        #expect(throws: Never.self) { try unnamed.encoded() }
    }

    // MARK: The discover options extension

    @Test func discoverWithOptionsHasTheDocumentedBytes() throws {
        let header = TransportHeader.discover(cluster: "east", options: .portNames)
        let expected: [UInt8] = Array("MGWH".utf8) + [1, 2, 0, 11] + [5, 0, 4] + Array("east".utf8) + [128, 0, 1, 0x01]
        #expect(try header.encoded() == expected)
        #expect(TransportHeader.decode(expected) == .complete(header, consumed: expected.count))
        #expect(header.discoverOptions == .portNames)
        #expect(TransportHeader.probe(nonce: 1).discoverOptions == nil)
    }

    @Test func discoverWithoutOptionsIsTheOldHeader() throws {
        let bytes = try TransportHeader.discover(cluster: "east").encoded()
        #expect(bytes == Array("MGWH".utf8) + [1, 2, 0, 7] + [5, 0, 4] + Array("east".utf8))
        #expect(TransportHeader.discover(cluster: "east").discoverOptions == [])
        // An old header decodes with no options.
        #expect(TransportHeader.decode(bytes) == .complete(.discover(cluster: "east", options: []), consumed: bytes.count))
    }

    @Test func optionsFieldRules() {
        func decode(_ raw: RawHeader) -> TransportHeaderDecoding { TransportHeader.decode(raw.bytes) }
        // Unknown bits are kept (and ignored by the server); reserved bytes after the first are skipped.
        let extra = RawHeader(kind: 2, [(128, [0x81, 0xFF, 0x00]), text(5, "east")])
        #expect(decode(extra) == .complete(.discover(cluster: "east", options: DiscoverOptions(rawValue: 0x81)), consumed: extra.bytes.count))
        #expect(DiscoverOptions(rawValue: 0x81).contains(.portNames))
        #expect(DiscoverOptions(rawValue: 0x81).description == "port_names,0x80")
        #expect(DiscoverOptions().description == "none")
        // An empty value or the field twice is refused in a discover header.
        #expect(decode(RawHeader(kind: 2, [text(5, "east"), (128, [])])) == .invalid(.invalidField("discover_options")))
        #expect(decode(RawHeader(kind: 2, [text(5, "east"), (128, [1]), (128, [1])])) == .invalid(.duplicateField))
        // In another kind it is an extension like any other: skipped.
        let connect = RawHeader(kind: 1, connectFields + [(128, [])])
        #expect(decode(connect) == .complete(
            .connect(ConnectTarget(namespace: "default", name: "redis", port: 6379), clientIdentity: nil), consumed: connect.bytes.count))
        // Still required: the cluster.
        #expect(decode(RawHeader(kind: 2, [(128, [1])])) == .invalid(.missingField("cluster")))
    }
}

/// Random valid port names (1–15 bytes; some starting with a digit), for generators.
enum PortNameGenerator {
    static func name(using rng: inout SplitMix64) -> String {
        while true {
            let length = Int.random(in: 0..<5, using: &rng) == 0 ? 15 : Int.random(in: 1...15, using: &rng)
            let bytes = (0..<length).map { _ in Array("abcz09-".utf8).randomElement(using: &rng)! }
            let name = String(decoding: bytes, as: UTF8.self)
            if PortNameWireTests.referenceIsValid(name) { return name }
        }
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
