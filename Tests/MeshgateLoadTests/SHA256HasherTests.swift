import Testing
@testable import MeshgateLoad

@Suite("SHA256Hasher")
struct SHA256HasherTests {
    @Test("known vectors")
    func knownVectors() {
        #expect(SHA256Hasher.hash(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256Hasher.hash([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("incremental updates equal one update")
    func incremental() {
        let bytes = PatternStream.bytes(seed: 1, count: 10_000)
        var h = SHA256Hasher()
        bytes[0..<1].withUnsafeBytes { h.update($0) }
        bytes[1..<5000].withUnsafeBytes { h.update($0) }
        bytes[5000...].withUnsafeBytes { h.update($0) }
        #expect(h.finalize() == SHA256Hasher.hash(bytes))
    }

    @Test("copies are independent")
    func copyOnWrite() {
        var a = SHA256Hasher()
        a.update(bytes: Array("ab".utf8))
        var b = a
        b.update(bytes: Array("c".utf8))
        #expect(b.finalize() == SHA256Hasher.hash(Array("abc".utf8)))
        #expect(a.finalize() == SHA256Hasher.hash(Array("ab".utf8)))
    }
}
