/// The first bytes a gateway client sends inside TLS on port 4143 (docs/wire.md): what it wants.
///
/// Wire format (all integers big-endian; full description in docs/wire.md):
///
/// ```
///  0      1      2      3      4        5       6      7
/// +------+------+------+------+--------+-------+------+------+---------------------------+
/// | 'M'  | 'G'  | 'W'  | 'H'  | ver=1  | kind  | body length | body: fields ...          |
/// +------+------+------+------+--------+-------+------+------+---------------------------+
/// field: | tag (1) | value length (2) | value ... |
/// ```
///
/// Header size (8 + body length) is at most `maxEncodedSize`. Fields (tag: value):
/// 1 namespace, 2 name, 5 cluster — DNS label (1–63 of `[a-z0-9-]`, no leading/trailing `-`);
/// 3 port — UInt16, non-zero; 4 client identity — 1–512 bytes of printable ASCII without spaces;
/// 6 nonce — UInt64; extension 128 discover options — at least 1 byte, the first holding
/// `DiscoverOptions` flags. `connect` requires 1, 2, 3 and allows 4; `discover` requires 5 and
/// allows 128; `probe` requires 6; `pooled` has none. Fields may come in any order; a known tag of another kind below
/// 128, a repeated known tag, or an unknown tag below 128 is an error; tags from 128 up that are
/// unknown or belong to another kind are skipped.
public enum TransportHeader: Hashable, Sendable {
    /// Open a stream to `target`. `clientIdentity` is the original client's verified identity
    /// (`spiffe://…` or DNS form) when the first hop was mTLS, else `nil`.
    case connect(ConnectTarget, clientIdentity: String?)
    /// Stream this gateway's exports to the mirror of the requesting cluster `cluster`.
    /// `options` (extension field 128, sent only when not empty) asks for more than the plain
    /// stream, e.g. `.portNames`.
    case discover(cluster: String, options: DiscoverOptions = [])
    /// Answer at once, echoing `nonce`.
    case probe(nonce: UInt64)
    /// A warm-pool connection: the peer keeps the stream idle (under its pooled idle limit, not
    /// the header timeout) until the next header, a `connect`, arrives on it. No fields.
    case pooled

    /// The hard limit on an encoded header, preamble included: 1024 bytes. A decoder refuses a
    /// longer one as soon as it has read the body length.
    public static let maxEncodedSize: Int = 1024

    /// The discover options of a `discover` header (empty when the mirror sent none), nil for
    /// other kinds.
    public var discoverOptions: DiscoverOptions? {
        if case .discover(_, let options) = self { return options }
        return nil
    }

    /// The kind byte this header is sent with.
    public var kind: TransportHeaderKind {
        switch self {
        case .connect: return .connect
        case .discover: return .discover
        case .probe: return .probe
        case .pooled: return .pooled
        }
    }
}
