/// The value rules of transport header fields, applied byte by byte so a decoder can check a
/// value's prefix before the rest has arrived, and an encoder can check a `String` without copying.
enum FieldSyntax {
    /// DNS label: 1–63 bytes of `[a-z0-9-]`, first and last byte not `-`.
    case label
    /// Verified client identity (`spiffe://…` or a DNS name): 1–512 bytes of printable ASCII,
    /// no space or control characters (0x21–0x7E).
    case identity
    /// UInt16 big-endian, non-zero.
    case port
    /// UInt64 big-endian.
    case nonce
    /// A port name (`PortName`): 1–15 bytes of `[a-z0-9-]`, at least one letter, first and last
    /// byte not `-`, no `--`.
    case portName
    /// Flags: at least one byte; the first one holds the flags, later ones are reserved.
    case flags

    static let maxLabelLength = 63
    static let maxIdentityLength = 512
    private static let hyphen = UInt8(ascii: "-")

    /// Whether a value of `length` bytes is possible for this syntax.
    @inline(__always)
    func allowsLength(_ length: Int) -> Bool {
        switch self {
        case .label: return length >= 1 && length <= FieldSyntax.maxLabelLength
        case .identity: return length >= 1 && length <= FieldSyntax.maxIdentityLength
        case .port: return length == 2
        case .nonce: return length == 8
        case .portName: return length >= 1 && length <= PortName.maxLength
        case .flags: return length >= 1
        }
    }

    /// Whether `byte` may appear at `offset` in a value (checks that need the whole value — a
    /// label's last byte, a port's non-zero — are in `isValid(_:)`).
    @inline(__always)
    func allowsByte(_ byte: UInt8, at offset: Int) -> Bool {
        switch self {
        case .label, .portName:
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
            case FieldSyntax.hyphen: return offset != 0
            default: return false
            }
        case .identity:
            return byte >= 0x21 && byte <= 0x7E
        case .port, .nonce, .flags:
            return true
        }
    }

    /// Whether a complete value (any collection of bytes) follows the rules.
    func isValid<Bytes: Collection>(_ value: Bytes) -> Bool where Bytes.Element == UInt8 {
        let count = value.count
        guard allowsLength(count) else { return false }
        var offset = 0
        var last: UInt8 = 0
        var nonZero = false
        var letter = false
        var doubleHyphen = false
        for byte in value {
            guard allowsByte(byte, at: offset) else { return false }
            doubleHyphen = doubleHyphen || (offset > 0 && byte == FieldSyntax.hyphen && last == FieldSyntax.hyphen)
            letter = letter || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            offset += 1
            last = byte
            nonZero = nonZero || byte != 0
        }
        switch self {
        case .label: return last != FieldSyntax.hyphen
        case .portName: return last != FieldSyntax.hyphen && letter && !doubleHyphen
        case .port: return nonZero
        case .identity, .nonce, .flags: return true
        }
    }
}
