/// Parses and prints durations the way the command line writes them: `250ms`, `5s`, `1.5m`, `100us`.
public enum DurationText {
    /// Parses `"<number><unit>"` with unit `ns`, `us`, `ms`, `s`, `m` or `h`; a bare number means seconds.
    public static func parse(_ text: String) -> Duration? {
        let t = text.trimmingWhitespace()
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(t)
        var scale = 1.0
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            let candidate = t.dropLast(suffix.count)
            if Double(candidate) != nil {
                number = candidate
                scale = factor
                break
            }
        }
        guard let value = Double(number), value >= 0, value.isFinite else { return nil }
        let nanos = value * scale * 1e9
        guard nanos < 9e18 else { return nil }
        return .nanoseconds(Int64(nanos.rounded()))
    }

    /// A short text for `d`, e.g. `5s` or `250ms`.
    public static func format(_ d: Duration) -> String {
        let s = d.seconds
        if s >= 1, s == s.rounded() { return "\(Int(s))s" }
        if s >= 1 { return "\(s)s" }
        let ms = s * 1000
        if ms == ms.rounded() { return "\(Int(ms))ms" }
        return "\(ms)ms"
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
