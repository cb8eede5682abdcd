/// Readiness reported for a watched socket (edge-triggered: reported when it changes).
public struct Readiness: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Data (or EOF) can be read.
    public static let readable = Readiness(rawValue: 1)
    /// Buffer space opened for writing.
    public static let writable = Readiness(rawValue: 2)
    /// The peer closed its side (FIN) or the connection hung up.
    public static let hangup = Readiness(rawValue: 4)
    /// An error is pending on the socket (e.g. a reset).
    public static let error = Readiness(rawValue: 8)
}

/// One finished (or progressing) operation, as a backend reports it.
public struct Completion: Sendable {
    /// The operation's token.
    public var token: Token
    /// Result: a value ≥ 0 (a new descriptor for accepts, 0 for connects) or `-errno`.
    public var result: Int32
    /// For readiness completions, what became ready.
    public var readiness: Readiness
    /// False when a multishot operation (accept, watch) has ended and must be re-armed.
    public var more: Bool

    @inline(__always)
    public init(token: Token, result: Int32, readiness: Readiness = [], more: Bool = false) {
        self.token = token
        self.result = result
        self.readiness = readiness
        self.more = more
    }
}
