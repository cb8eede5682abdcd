// libFuzzer target for the transport header codec; built and run by scripts/fuzz-header, which
// compiles it together with Sources/MeshgateWire/*.swift into one module.
//
// Any trap here is a finding: decoding must never crash, and whatever decodes must re-encode to
// bytes that decode to the same header.

/// Decodes `data` as the first bytes of a connection and checks the codec's invariants.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    switch TransportHeader.decode(bytes) {
    case .complete(let header, let consumed):
        guard consumed >= 8, consumed <= size, consumed <= TransportHeader.maxEncodedSize else {
            fatalError("consumed \(consumed) of \(size) bytes")
        }
        // A header is only complete once its last byte is there.
        guard TransportHeader.decode(UnsafeRawBufferPointer(rebasing: bytes[0..<(consumed - 1)])) == .needMoreBytes else {
            fatalError("\(header) minus its last byte is not needMoreBytes")
        }
        let encoded: [UInt8]
        do {
            encoded = try header.encoded()
        } catch {
            fatalError("decoded \(header) does not encode: \(error)")
        }
        guard TransportHeader.decode(encoded) == .complete(header, consumed: encoded.count) else {
            fatalError("\(header) does not round-trip: \(encoded)")
        }
    case .needMoreBytes:
        guard size < TransportHeader.maxEncodedSize else { fatalError("needMoreBytes with \(size) bytes") }
    case .invalid(let error):
        guard size > 0, bytes[0] == UInt8(ascii: "M") || error == .badMagic else {
            fatalError("first byte \(bytes[0]) gave \(error)")
        }
    }
    return 0
}
