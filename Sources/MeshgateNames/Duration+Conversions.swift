/// The one conversion of a `Duration` to plain numbers, for APIs that take seconds or
/// milliseconds (Foundation's `TimeInterval` is a `Double` of seconds, so `seconds` serves it).
extension Duration {
    /// The duration in seconds, fraction included (a `TimeInterval`): `.milliseconds(1500)` is 1.5.
    public var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }

    /// The duration in whole milliseconds, a partial millisecond rounded up: `.microseconds(1001)`
    /// is 2, `.zero` is 0.
    public var milliseconds: Int64 {
        let c = components
        return c.seconds * 1000 + (c.attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    }
}
