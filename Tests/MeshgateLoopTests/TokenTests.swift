import Testing
@testable import MeshgateLoop

@Suite struct TokenTests {
    @Test func packsAndUnpacksEveryField() {
        let t = Token(kind: .upstreamReady, slot: 0xDEAD_BEEF, generation: 0xABCDEF)
        #expect(t.kind == .upstreamReady)
        #expect(t.slot == 0xDEAD_BEEF)
        #expect(t.generation == 0xABCDEF)
    }

    @Test func generationWrapsAt24Bits() {
        let t = Token(kind: .connect, slot: 7, generation: 0x1_000_001)
        #expect(t.generation == 1)
        #expect(t.kind == .connect)
        #expect(t.slot == 7)
    }

    @Test func unknownKindIsIgnored() {
        #expect(Token(raw: 0xFF00_0000_0000_0001).kind == .none)
        #expect(Token.ignored.kind == .none)
    }

    @Test func differentGenerationsDiffer() {
        #expect(Token(kind: .downstreamReady, slot: 1, generation: 1) != Token(kind: .downstreamReady, slot: 1, generation: 2))
    }
}
