import Testing
@testable import MeshgateLoad

@Suite("PatternStream")
struct PatternStreamTests {
    @Test("the same seed gives the same bytes")
    func deterministic() {
        #expect(PatternStream.bytes(seed: 42, count: 1000) == PatternStream.bytes(seed: 42, count: 1000))
        #expect(PatternStream.bytes(seed: 42, count: 64) != PatternStream.bytes(seed: 43, count: 64))
    }

    @Test("filling in odd-sized pieces gives the same stream as one fill")
    func chunkingDoesNotMatter() {
        let whole = PatternStream.bytes(seed: 7, count: 4099)
        var stream = PatternStream(seed: 7)
        var pieces: [UInt8] = []
        for size in [1, 3, 8, 13, 1000, 7, 3067] {
            var part = [UInt8](repeating: 0, count: size)
            part.withUnsafeMutableBytes { stream.fill($0) }
            pieces += part
        }
        #expect(pieces == whole)
        #expect(stream.offset == 4099)
    }

    @Test("a stream can start at any offset")
    func offsets() {
        let whole = PatternStream.bytes(seed: 9, count: 300)
        var stream = PatternStream(seed: 9, offset: 101)
        var tail = [UInt8](repeating: 0, count: 199)
        tail.withUnsafeMutableBytes { stream.fill($0) }
        #expect(tail == Array(whole[101...]))
    }

    @Test("the bytes look random, not constant")
    func notDegenerate() {
        let bytes = PatternStream.bytes(seed: 0, count: 4096)
        #expect(Set(bytes).count > 200)
    }

    @Test("sha256(seed:count:) hashes the stream")
    func hashHelper() {
        let bytes = PatternStream.bytes(seed: 5, count: 200_000)
        #expect(PatternStream.sha256(seed: 5, count: 200_000) == SHA256Hasher.hash(bytes))
    }
}
