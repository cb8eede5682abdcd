import MeshgateWire
import Testing

/// Arbitrary and damaged inputs: decoding never traps and the invariants in DecodeChecks.swift hold.
@Suite struct RobustnessTests {
    /// 100,000 random byte strings (0–64 bytes), half of them behind a valid magic and version so
    /// the decoder gets past the first checks.
    @Test func randomBytes() {
        var generator = HeaderGenerator(seed: 0x5EED_0002)
        var tally = FuzzTally()
        for index in 0..<100_000 {
            var bytes = generator.bytes(count: Int.random(in: 0...64, using: &generator.rng))
            if index % 2 == 1 { bytes = Array("MGWH".utf8) + [1] + bytes }
            tally.record(bytes, violation: invariantViolation(bytes, allPrefixes: index % 50 == 0), outcome: Self.outcome(TransportHeader.decode(bytes)))
            if tally.isFull { break }
        }
        #expect(tally.failures.isEmpty, "\(tally.failures)")
        #expect(tally.outcomes[1] > 0 && tally.outcomes[2] > 0, "\(tally.outcomes)")
    }

    /// 100,000 random TLV bodies: a valid preamble, then random tags (known, extension, unknown)
    /// with random lengths, sometimes a wrong body length, sometimes cut short.
    @Test func randomFieldSoups() {
        var generator = HeaderGenerator(seed: 0x5EED_0003)
        var tally = FuzzTally()
        for index in 0..<100_000 {
            var raw = RawHeader(kind: UInt8.random(in: 1...3, using: &generator.rng))
            for _ in 0..<Int.random(in: 0...5, using: &generator.rng) {
                let tag: UInt8 = [1, 2, 3, 4, 5, 6, 6, 3, 128, 255, 7].randomElement(using: &generator.rng)!
                let value: [UInt8]
                switch Int.random(in: 0..<4, using: &generator.rng) {
                case 0: value = generator.bytes(count: Int.random(in: 0...12, using: &generator.rng))
                case 1: value = Array(generator.label().utf8)
                case 2: value = [UInt8(0), UInt8.random(in: 0...255, using: &generator.rng)]
                default: value = (0..<8).map { _ in UInt8.random(in: 0...255, using: &generator.rng) }
                }
                raw.fields.append((tag, value))
            }
            if Int.random(in: 0..<4, using: &generator.rng) == 0 { raw.bodyLength = Int.random(in: 0...200, using: &generator.rng) }
            var bytes = raw.bytes
            if Int.random(in: 0..<4, using: &generator.rng) == 0 { bytes.removeLast(Int.random(in: 0...bytes.count, using: &generator.rng)) }
            tally.record(bytes, violation: invariantViolation(bytes, allPrefixes: index % 20 == 0), outcome: Self.outcome(TransportHeader.decode(bytes)))
            if tally.isFull { break }
        }
        #expect(tally.failures.isEmpty, "\(tally.failures)")
        #expect(tally.outcomes.allSatisfy { $0 > 100 }, "\(tally.outcomes)")
    }

    /// 60,000 valid headers (plus a few payload bytes), each damaged 1–3 times: bit flips, byte
    /// changes, body or field length changes, insertions and deletions.
    @Test func mutatedValidHeaders() throws {
        var generator = HeaderGenerator(seed: 0x5EED_0004)
        var tally = FuzzTally()
        for index in 0..<60_000 {
            var bytes = try generator.header().encoded() + generator.bytes(count: Int.random(in: 0...4, using: &generator.rng))
            for _ in 0..<Int.random(in: 1...3, using: &generator.rng) { Self.mutate(&bytes, &generator) }
            tally.record(bytes, violation: invariantViolation(bytes, allPrefixes: index % 25 == 0), outcome: Self.outcome(TransportHeader.decode(bytes)))
            if tally.isFull { break }
        }
        #expect(tally.failures.isEmpty, "\(tally.failures)")
        #expect(tally.outcomes.allSatisfy { $0 > 100 }, "\(tally.outcomes)")
    }

    private static func mutate(_ bytes: inout [UInt8], _ generator: inout HeaderGenerator) {
        guard !bytes.isEmpty else { return }
        let index = Int.random(in: 0..<bytes.count, using: &generator.rng)
        switch Int.random(in: 0..<6, using: &generator.rng) {
        case 0: bytes[index] ^= 1 << UInt8.random(in: 0...7, using: &generator.rng)
        case 1: bytes[index] = UInt8.random(in: 0...255, using: &generator.rng)
        case 2 where bytes.count > 7:  // body length
            let delta = Int.random(in: -4...4, using: &generator.rng)
            let length = max(0, min(0xFFFF, (Int(bytes[6]) << 8 | Int(bytes[7])) + delta))
            bytes[6] = UInt8(length >> 8)
            bytes[7] = UInt8(length & 0xFF)
        case 3 where bytes.count > 10:  // the first field's length
            bytes[Int.random(in: 9...10, using: &generator.rng)] = [0, 1, 2, 0xFF].randomElement(using: &generator.rng)!
        case 4: bytes.insert(UInt8.random(in: 0...255, using: &generator.rng), at: index)
        default: bytes.remove(at: index)
        }
    }

    private static func outcome(_ result: TransportHeaderDecoding) -> Int {
        switch result {
        case .complete: return 0
        case .needMoreBytes: return 1
        case .invalid: return 2
        }
    }
}
