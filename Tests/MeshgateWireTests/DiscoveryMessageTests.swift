import MeshgateWire
import MeshgateTestKit
import Testing

/// The `discover` stream's frame codec: hand examples, random round trips, errors, robustness.
@Suite struct DiscoveryMessageTests {
    // MARK: Hand examples

    static let handCases: [(DiscoveryMessage, [UInt8])] = [
        (DiscoveryMessage.snapshotBegin(generation: 0x0102_0304_0506_0708),
         [0x00, 0x09, 0x01, 1, 2, 3, 4, 5, 6, 7, 8] as [UInt8]),
        (.snapshotEnd(generation: 0), [0x00, 0x09, 0x04, 0, 0, 0, 0, 0, 0, 0, 0]),
        (.snapshotEnd(generation: .max), [0x00, 0x09, 0x04] + [UInt8](repeating: 0xFF, count: 8)),
        (.keepalive, [0x00, 0x01, 0x05]),
        (.remove(namespace: "a", name: "b-2"), [0x00, 0x07, 0x03, 0x01, 0x61, 0x03, 0x62, 0x2D, 0x32]),
        (.upsert(DiscoveredService(namespace: "default", name: "web", ports: [80, 443])),
         [0x00, 0x12, 0x02, 0x07] + Array("default".utf8) + [0x03] + Array("web".utf8)
            + [0x02, 0x00, 0x50, 0x01, 0xBB]),
        (.upsert(DiscoveredService(namespace: "n", name: "s", ports: [])), [0x00, 0x06, 0x02, 0x01, 0x6E, 0x01, 0x73, 0x00]),
        (.upsert(DiscoveredService(namespace: "n", name: "s", ports: [65535, 1])),
         [0x00, 0x0A, 0x02, 0x01, 0x6E, 0x01, 0x73, 0x02, 0xFF, 0xFF, 0x00, 0x01]),
    ]

    @Test(arguments: handCases)
    func handExamples(message: DiscoveryMessage, bytes: [UInt8]) throws {
        #expect(try message.encoded() == bytes)
        #expect(DiscoveryMessage.decode(bytes) == .complete(message, consumed: bytes.count))
        // Followed by the start of the next frame: still one frame, the rest left alone.
        #expect(DiscoveryMessage.decode(bytes + [0x00, 0x01]) == .complete(message, consumed: bytes.count))
        for length in 0..<bytes.count {
            #expect(Self.decodePrefix(bytes, length) == .needMoreBytes, "prefix \(length)")
        }
    }

    @Test func largestUpsertAndLimits() throws {
        let label = String(repeating: "a", count: 63)
        let ports = (1...UInt16(DiscoveryMessage.maxPortsPerService)).map { $0 }
        let message = DiscoveryMessage.upsert(DiscoveredService(namespace: label, name: label, ports: ports))
        let bytes = try message.encoded()
        #expect(bytes.count == 2 + 1 + 64 + 64 + 1 + 128)
        #expect(Array(bytes[0..<3]) == [0x01, 0x02, 0x02])
        #expect(DiscoveryMessage.decode(bytes) == .complete(message, consumed: bytes.count))
        #expect(DiscoveryMessage.maxFrameSize == 4096)
        #expect(DiscoveryMessage.maxPortsPerService == 64)
        // A frame length of exactly maxFrameSize is a valid prefix; one more is refused at once.
        #expect(DiscoveryMessage.decode([0x10, 0x00]) == .needMoreBytes)
        #expect(DiscoveryMessage.decode([0x10, 0x00, 0x05]) == .invalid(.trailingBytes))
    }

    // MARK: Decode errors (each case, found as early as the bytes allow)

    static let decodeErrorCases: [([UInt8], DiscoveryFrameError)] = [
        // too_long: as soon as both length bytes are in.
        ([0x10, 0x01], DiscoveryFrameError.tooLong),
        ([0xFF, 0xFF, 0x05], .tooLong),
        // unknown_type
        ([0x00, 0x01, 0x00], .unknownType),
        ([0x00, 0x01, 0x07], .unknownType),
        ([0x00, 0x09, 0xFF], .unknownType),
        // truncated_frame: no type byte, short generation, label or ports past the frame end.
        ([0x00, 0x00], .truncatedFrame),
        ([0x00, 0x08, 0x01], .truncatedFrame),
        ([0x00, 0x01, 0x04], .truncatedFrame),
        ([0x00, 0x01, 0x02], .truncatedFrame),
        ([0x00, 0x03, 0x02, 0x05, 0x61], .truncatedFrame),
        ([0x00, 0x05, 0x03, 0x01, 0x61, 0x02], .truncatedFrame),
        ([0x00, 0x06, 0x02, 0x01, 0x61, 0x01, 0x62, 0x01], .truncatedFrame),
        ([0x00, 0x05, 0x02, 0x01, 0x61, 0x01, 0x62], .truncatedFrame),
        // trailing_bytes
        ([0x00, 0x02, 0x05, 0x00], .trailingBytes),
        ([0x00, 0x0A, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0], .trailingBytes),
        ([0x00, 0x06, 0x03, 0x01, 0x61, 0x01, 0x62, 0x00], .trailingBytes),
        ([0x00, 0x07, 0x02, 0x01, 0x61, 0x01, 0x62, 0x00, 0x00], .trailingBytes),
        // invalid_field: label length, label bytes (checked as they arrive), port 0.
        ([0x00, 0x04, 0x03, 0x00], .invalidField("namespace")),
        ([0x00, 0x50, 0x03, 0x40], .invalidField("namespace")),
        ([0x00, 0x05, 0x03, 0x02, 0x41], .invalidField("namespace")),
        ([0x00, 0x05, 0x03, 0x02, 0x2D], .invalidField("namespace")),
        ([0x00, 0x05, 0x03, 0x02, 0x61, 0x2D], .invalidField("namespace")),
        ([0x00, 0x05, 0x02, 0x02, 0x61, 0xC3], .invalidField("namespace")),
        ([0x00, 0x05, 0x03, 0x01, 0x61, 0x00], .invalidField("name")),
        ([0x00, 0x06, 0x03, 0x01, 0x61, 0x01, 0x2E], .invalidField("name")),
        ([0x00, 0x08, 0x02, 0x01, 0x61, 0x01, 0x62, 0x01, 0x00, 0x00], .invalidField("ports")),
        // too_many_ports: as soon as the count byte is in.
        ([0x00, 0x0A, 0x02, 0x01, 0x61, 0x01, 0x62, 0x41], .tooManyPorts),
        ([0x00, 0x0A, 0x02, 0x01, 0x61, 0x01, 0x62, 0xFF], .tooManyPorts),
        // duplicate_port
        ([0x00, 0x0A, 0x02, 0x01, 0x61, 0x01, 0x62, 0x02, 0x00, 0x50, 0x00, 0x50], .duplicatePort),
    ]

    @Test(arguments: decodeErrorCases)
    func decodeErrors(bytes: [UInt8], error: DiscoveryFrameError) {
        // More bytes never change the outcome; shorter prefixes need more bytes or fail the same way.
        Self.expectDecodeError(bytes, error)
    }

    /// Expects `error` from `bytes`, from `bytes` with more after them, and from no shorter prefix
    /// anything but `needMoreBytes` or `error`.
    static func expectDecodeError(
        _ bytes: [UInt8], _ error: DiscoveryFrameError, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let invalid = DiscoveryDecoding.invalid(error)
        #expect(DiscoveryMessage.decode(bytes) == invalid, sourceLocation: sourceLocation)
        #expect(DiscoveryMessage.decode(bytes + [0x00, 0x61, 0xFF]) == invalid, sourceLocation: sourceLocation)
        for length in 0..<bytes.count {
            let partial = decodePrefix(bytes, length)
            #expect(partial == .needMoreBytes || partial == invalid, "prefix \(length): \(partial)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Encode errors

    static let encodeErrorCases: [(DiscoveryMessage, DiscoveryFrameError)] = [
        (DiscoveryMessage.upsert(DiscoveredService(namespace: "", name: "web", ports: [80])), DiscoveryFrameError.invalidField("namespace")),
        (.upsert(DiscoveredService(namespace: "Default", name: "web", ports: [80])), .invalidField("namespace")),
        (.upsert(DiscoveredService(namespace: "ns", name: "web-", ports: [80])), .invalidField("name")),
        (.upsert(DiscoveredService(namespace: "ns", name: String(repeating: "a", count: 64), ports: [80])), .invalidField("name")),
        (.upsert(DiscoveredService(namespace: "ns", name: "wéb", ports: [80])), .invalidField("name")),
        (.upsert(DiscoveredService(namespace: "ns", name: "web", ports: [80, 0])), .invalidField("ports")),
        (.upsert(DiscoveredService(namespace: "ns", name: "web", ports: [80, 443, 80])), .duplicatePort),
        (.upsert(DiscoveredService(namespace: "ns", name: "web", ports: (1...65).map { UInt16($0) })), .tooManyPorts),
        (.remove(namespace: "-ns", name: "web"), .invalidField("namespace")),
        (.remove(namespace: "ns", name: "a.b"), .invalidField("name")),
    ]

    @Test(arguments: encodeErrorCases)
    func encodeErrors(message: DiscoveryMessage, error: DiscoveryFrameError) {
        #expect(throws: error) { try message.encoded() }
    }

    @Test func errorReasonsAndDescriptions() {
        let all: [DiscoveryFrameError] = [
            .tooLong, .unknownType, .truncatedFrame, .trailingBytes, .invalidField("ports"), .tooManyPorts, .duplicatePort,
        ]
        #expect(all.map(\.reason) == [
            "too_long", "unknown_type", "truncated_frame", "trailing_bytes", "invalid_field", "too_many_ports", "duplicate_port",
        ])
        #expect(DiscoveryFrameError.invalidField("name") != .invalidField("namespace"))
        #expect(DiscoveryFrameError.invalidField("name").reason == "invalid_field")
        #expect(DiscoveryFrameError.invalidField("name").field == "name")
        #expect(DiscoveryFrameError.invalidField("name").description == "invalid_field: name")
        #expect(DiscoveryFrameError.tooLong.field == nil)
        #expect(DiscoveryFrameError.tooLong.description == "too_long")
    }

    // MARK: Random round trips

    /// 6,000 random messages: each round-trips, every proper prefix needs more bytes; streams of
    /// 1–8 frames decode one after another, and a cut-off last frame needs more bytes.
    @Test func randomRoundTrips() throws {
        var generator = DiscoveryGenerator(seed: 0x5EED_D150)
        var failures: [String] = []
        for _ in 0..<6_000 {
            let message = generator.message()
            let bytes = try message.encoded()
            if DiscoveryMessage.decode(bytes) != .complete(message, consumed: bytes.count) { failures.append("\(message)") }
            for length in 0..<bytes.count where Self.decodePrefix(bytes, length) != .needMoreBytes {
                failures.append("\(message): prefix \(length) gave \(Self.decodePrefix(bytes, length))")
                break
            }
            if failures.count >= 3 { break }
        }
        for _ in 0..<1_000 {
            let messages = (0..<Int.random(in: 1...8, using: &generator.rng)).map { _ in generator.message() }
            var stream: [UInt8] = []
            for message in messages { stream += try message.encoded() }
            let cut = Int.random(in: 0...2, using: &generator.rng) == 0 ? Int.random(in: 1...stream.count, using: &generator.rng) : 0
            let bytes = Array(stream.dropLast(cut))
            var offset = 0
            var decoded: [DiscoveryMessage] = []
            while true {
                let result = bytes.withUnsafeBytes { DiscoveryMessage.decode(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
                guard case .complete(let message, let consumed) = result else {
                    if offset < bytes.count || result != .needMoreBytes {
                        if result != .needMoreBytes { failures.append("stream \(messages) at \(offset): \(result)") }
                    }
                    break
                }
                decoded.append(message)
                offset += consumed
            }
            let expectedCount = cut == 0 ? messages.count : Self.wholeFrames(stream, upTo: bytes.count)
            if decoded != Array(messages.prefix(expectedCount)) || (cut == 0 && offset != stream.count) {
                failures.append("stream \(messages) cut \(cut): decoded \(decoded)")
            }
            if failures.count >= 3 { break }
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    // MARK: Robustness

    /// 60,000 random byte strings (0–40 bytes), two thirds behind a small frame length and a valid
    /// type byte so decoding gets to the fields: never traps, and the invariants hold.
    @Test func randomBytes() {
        var generator = DiscoveryGenerator(seed: 0x5EED_D151)
        var tally = FuzzTally()
        for index in 0..<60_000 {
            var bytes = (0..<Int.random(in: 0...40, using: &generator.rng)).map { _ in UInt8.random(in: 0...255, using: &generator.rng) }
            if index % 3 != 0 {
                let length = UInt16.random(in: 0...24, using: &generator.rng)
                bytes = [UInt8(length >> 8), UInt8(length & 0xFF), UInt8.random(in: 1...6, using: &generator.rng)] + bytes
                if index % 3 == 1 {  // mostly label bytes: get past the namespace and name
                    for i in bytes.indices.dropFirst(4) where Bool.random(using: &generator.rng) {
                        bytes[i] = Array("ab-09".utf8).randomElement(using: &generator.rng)!
                    }
                }
            }
            tally.record(bytes, violation: Self.invariantViolation(bytes, allPrefixes: index % 10 == 0), outcome: Self.outcome(DiscoveryMessage.decode(bytes)))
            if tally.isFull { break }
        }
        #expect(tally.failures.isEmpty, "\(tally.failures)")
        #expect(tally.outcomes.allSatisfy { $0 > 100 }, "\(tally.outcomes)")
    }

    /// 20,000 valid frames damaged 1–3 times (byte changes, insertions, deletions).
    @Test func mutatedValidFrames() throws {
        var generator = DiscoveryGenerator(seed: 0x5EED_D152)
        var failures: [String] = []
        for index in 0..<20_000 {
            var bytes = try generator.message().encoded()
            for _ in 0..<Int.random(in: 1...3, using: &generator.rng) where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &generator.rng)
                switch Int.random(in: 0..<4, using: &generator.rng) {
                case 0: bytes[at] ^= 1 << UInt8.random(in: 0...7, using: &generator.rng)
                case 1: bytes[at] = UInt8.random(in: 0...255, using: &generator.rng)
                case 2: bytes.insert(UInt8.random(in: 0...255, using: &generator.rng), at: at)
                default: bytes.remove(at: at)
                }
            }
            if let failure = Self.invariantViolation(bytes, allPrefixes: index % 5 == 0) { failures.append("\(bytes): \(failure)") }
            if failures.count >= 3 { break }
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    // MARK: Helpers

    /// 0 complete, 1 needs more bytes, 2 invalid (``FuzzTally``'s outcomes).
    static func outcome(_ result: DiscoveryDecoding) -> Int {
        switch result {
        case .complete: 0
        case .needMoreBytes: 1
        case .invalid: 2
        }
    }

    static func decodePrefix(_ bytes: [UInt8], _ length: Int) -> DiscoveryDecoding {
        bytes.withUnsafeBytes { DiscoveryMessage.decode(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }

    /// How many whole frames `stream` holds in its first `count` bytes.
    static func wholeFrames(_ stream: [UInt8], upTo count: Int) -> Int {
        var offset = 0
        var frames = 0
        while offset + 2 <= count {
            let end = offset + 2 + (Int(stream[offset]) << 8 | Int(stream[offset + 1]))
            guard end <= count else { break }
            frames += 1
            offset = end
        }
        return frames
    }

    /// - `complete(m, c)`: c is 2 + the frame length, ≤ the byte count, and m re-encodes to exactly
    ///   the first c bytes; one byte fewer needs more.
    /// - `needMoreBytes`: fewer than 2 + maxFrameSize bytes.
    /// - with `allPrefixes`: every prefix gives needMoreBytes… then one constant result.
    static func invariantViolation(_ bytes: [UInt8], allPrefixes: Bool) -> String? {
        let result = DiscoveryMessage.decode(bytes)
        switch result {
        case .complete(let message, let consumed):
            guard consumed >= 3, consumed <= bytes.count, consumed == 2 + (Int(bytes[0]) << 8 | Int(bytes[1])) else {
                return "consumed \(consumed) out of range"
            }
            guard let encoded = try? message.encoded() else { return "\(message) does not encode" }
            guard encoded == Array(bytes[0..<consumed]) else { return "\(message) re-encodes differently" }
            guard decodePrefix(bytes, consumed - 1) == .needMoreBytes else { return "frame minus one byte not needMoreBytes" }
        case .needMoreBytes:
            guard bytes.count < 2 + DiscoveryMessage.maxFrameSize else { return "needMoreBytes with \(bytes.count) bytes" }
        case .invalid(let error):
            guard !error.reason.isEmpty else { return "empty reason" }
        }
        return allPrefixes ? prefixViolation(bytes, whole: result, needMoreBytes: .needMoreBytes, decodePrefix: decodePrefix) : nil
    }
}

/// Random valid discover messages, covering the extremes (1- and 63-byte labels, 0 and 64 ports,
/// ports 1 and 65535, generations 0 and UInt64.max).
struct DiscoveryGenerator {
    var headers: HeaderGenerator
    var rng: SplitMix64 {
        get { headers.rng }
        set { headers.rng = newValue }
    }

    init(seed: UInt64) { headers = HeaderGenerator(seed: seed) }

    mutating func message() -> DiscoveryMessage {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return .snapshotBegin(generation: generation())
        case 1: return .snapshotEnd(generation: generation())
        case 2: return .keepalive
        case 3, 4: return .remove(namespace: headers.label(), name: headers.label())
        case 5, 6, 7: return .upsert(DiscoveredService(namespace: headers.label(), name: headers.label(), ports: ports()))
        default:
            let ports = ports()
            var names: [String] = []
            for _ in ports {
                // About a third unnamed; named ones distinct.
                var name = ""
                if Int.random(in: 0..<3, using: &rng) != 0 {
                    repeat { name = PortNameGenerator.name(using: &rng) } while names.contains(name)
                }
                names.append(name)
            }
            return .upsertNamed(DiscoveredService(namespace: headers.label(), name: headers.label(), ports: ports, portNames: names))
        }
    }

    mutating func generation() -> UInt64 {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return 0
        case 1: return .max
        default: return rng.next()
        }
    }

    mutating func ports() -> [UInt16] {
        let count: Int
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: count = 0
        case 1: count = DiscoveryMessage.maxPortsPerService
        default: count = Int.random(in: 1...4, using: &rng)
        }
        var ports: [UInt16] = []
        while ports.count < count {
            let port = headers.port()
            if !ports.contains(port) { ports.append(port) }
        }
        return ports
    }
}
