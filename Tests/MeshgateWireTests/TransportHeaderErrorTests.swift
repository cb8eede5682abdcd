import MeshgateWire
import Testing

@Suite struct TransportHeaderErrorTests {
    static let all: [TransportHeaderError] = [
        .badMagic, .unsupportedVersion, .unknownKind, .tooLong, .truncatedField, .missingField("port"),
        .invalidField("name"), .unexpectedField("nonce"), .unknownField, .duplicateField,
    ]

    @Test func reasonsAreDistinctSnakeCaseLabels() {
        let reasons = Self.all.map(\.reason)
        #expect(Set(reasons).count == Self.all.count)
        for reason in reasons {
            #expect(!reason.isEmpty && reason.allSatisfy { $0 == "_" || ("a"..."z").contains($0) }, "\(reason)")
        }
        #expect(TransportHeaderError.badMagic.reason == "bad_magic")
    }

    @Test func fieldNameIsPartOfIdentityAndDescriptionButNotReason() {
        #expect(TransportHeaderError.missingField("port") != .missingField("name"))
        #expect(TransportHeaderError.missingField("port").reason == TransportHeaderError.missingField("name").reason)
        #expect(TransportHeaderError.missingField("port").field == "port")
        #expect(TransportHeaderError.missingField("port").description == "missing_field: port")
        #expect(TransportHeaderError.tooLong.description == "too_long")
        #expect(TransportHeaderError.tooLong.field == nil)
    }
}
