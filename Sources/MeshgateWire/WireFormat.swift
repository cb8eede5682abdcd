/// Constants of the transport header's wire format (see `TransportHeader` and docs/wire.md).
enum WireFormat {
    /// The four magic bytes `M G W H`, most significant byte first.
    static let magic: UInt32 = 0x4D47_5748
    /// The only version this codec speaks.
    static let version: UInt8 = 1
    /// Magic (4) + version (1) + kind (1) + body length (2).
    static let preambleSize = 8
    /// Tag (1) + value length (2).
    static let fieldHeaderSize = 3
    /// Tags at or above this value are optional extensions: a decoder that does not know them
    /// skips them. Unknown tags below it are refused.
    static let firstExtensionTag: UInt8 = 128

    /// Byte `index` (0...3) of the magic.
    @inline(__always)
    static func magicByte(_ index: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: magic >> (24 - 8 * UInt32(truncatingIfNeeded: index)))
    }
}
