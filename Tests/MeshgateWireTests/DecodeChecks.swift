import MeshgateWire

/// Decodes `bytes[0..<length]` without copying.
func decodePrefix(_ bytes: [UInt8], _ length: Int) -> TransportHeaderDecoding {
    bytes.withUnsafeBytes { TransportHeader.decode(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
}

/// Checks what must hold for any input, returns the first violation (nil when all hold):
/// - `complete(h, c)`: 8 ≤ c ≤ min(count, max); the first c bytes alone decode the same, one byte
///   fewer needs more; h re-encodes to at most c bytes that decode back to h.
/// - `needMoreBytes`: fewer bytes than the limit; `invalid`: a first byte other than 'M' is badMagic.
/// - with `allPrefixes`: decoding every prefix gives needMoreBytes… then one constant result
///   (errors are found in wire order, so more bytes never turn an error into another outcome).
func invariantViolation(_ bytes: [UInt8], allPrefixes: Bool = false) -> String? {
    let result = TransportHeader.decode(bytes)
    switch result {
    case .complete(let header, let consumed):
        guard consumed >= 8, consumed <= bytes.count, consumed <= TransportHeader.maxEncodedSize else {
            return "consumed \(consumed) out of range for \(bytes.count) bytes"
        }
        guard decodePrefix(bytes, consumed) == result else { return "header alone decodes differently" }
        guard decodePrefix(bytes, consumed - 1) == .needMoreBytes else { return "header minus one byte not needMoreBytes" }
        guard let encoded = try? header.encoded() else { return "decoded header \(header) does not encode" }
        guard encoded.count <= consumed else { return "re-encoding longer than the input" }
        guard TransportHeader.decode(encoded) == .complete(header, consumed: encoded.count) else {
            return "re-encoded \(header) does not round-trip"
        }
    case .needMoreBytes:
        guard bytes.count < TransportHeader.maxEncodedSize else { return "needMoreBytes with \(bytes.count) bytes" }
    case .invalid(let error):
        if let first = bytes.first, first != UInt8(ascii: "M"), error != .badMagic {
            return "first byte \(first) gave \(error), not bad_magic"
        }
    }
    return allPrefixes ? prefixViolation(bytes, whole: result, needMoreBytes: .needMoreBytes, decodePrefix: decodePrefix) : nil
}

/// Decodes every prefix of `bytes` (the empty one to all of them) with `decodePrefix`: they must
/// give `needMoreBytes`… then one constant result, the one of the `whole` input (errors are found
/// in wire order, so more bytes never turn an error into another outcome). The first violation,
/// or nil.
func prefixViolation<Decoding: Equatable>(
    _ bytes: [UInt8], whole: Decoding, needMoreBytes: Decoding, decodePrefix: ([UInt8], Int) -> Decoding
) -> String? {
    var settled: Decoding?
    for length in 0...bytes.count {
        let partial = decodePrefix(bytes, length)
        if let settled {
            if partial != settled { return "prefix \(length) gave \(partial) after \(settled)" }
        } else if partial != needMoreBytes {
            settled = partial
        }
    }
    return (settled ?? needMoreBytes) != whole ? "prefix results end differently from \(whole)" : nil
}
