/// What a mirror asks of a `discover` stream beyond the plain service list: the value of the
/// transport header extension field 128 (docs/wire.md, "Discover options").
///
/// One byte of flags. A gateway that does not know the field skips it (tags from 128 up are
/// extensions) and serves the plain stream; a gateway that knows it ignores bits it does not know.
public struct DiscoverOptions: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Bit 0: send services as `upsertNamed` frames, which carry the ports' names.
    public static let portNames = DiscoverOptions(rawValue: 1 << 0)

    /// The flags as words (`port_names`), or a hex byte for unknown bits; "none" when empty.
    public var description: String {
        var words: [String] = []
        if contains(.portNames) { words.append("port_names") }
        let unknown = rawValue & ~Self.portNames.rawValue
        if unknown != 0 { words.append("0x" + String(unknown, radix: 16)) }
        return words.isEmpty ? "none" : words.joined(separator: ",")
    }
}
