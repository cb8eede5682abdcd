/// The one duration grammar of meshgate: configuration files, command-line flags and the load
/// tools all read durations through it (docs/gateway-config.md, "Durations").
///
/// A duration is one or more `<number><unit>` groups, e.g. `250ms`, `5s`, `1.5m`, `1h30m`; units
/// `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`, `d`; a number may have a fraction. A bare number is
/// refused (is `5` seconds or milliseconds?), except `0`. Surrounding spaces are ignored; a
/// negative duration or one longer than about 292 years (Int64 nanoseconds) is refused.
public enum DurationText {
    /// Why a text is not a duration; `description` names the text and shows the grammar.
    public struct Problem: Error, Hashable, Sendable, CustomStringConvertible {
        /// The explanation, e.g. `'5' has no unit (use a number and a unit: 500ms, 5s, 10m, 1h, 1d)`.
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The units, longest suffix first where one is a prefix of another (`ms` before `m`).
    static let units: [(suffix: String, nanoseconds: Double)] = [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9), ("d", 86400e9),
    ]
    static let example = "use a number and a unit: 500ms, 5s, 10m, 1h, 1d"
    static let limit = 9.2e18

    /// Parses `text`.
    public static func parse(_ text: String) throws(Problem) -> Duration {
        let t = trimmed(text)
        guard !t.isEmpty else { throw Problem("empty duration (\(example))") }
        if t == "0" { return .zero }
        var total = 0.0
        var rest = Substring(t)
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            rest = rest.dropFirst(unitText.count)
            guard !number.isEmpty, let value = Double(number), value.isFinite else {
                throw Problem("'\(t)' is not a duration (\(example))")
            }
            guard !unitText.isEmpty else { throw Problem("'\(t)' has no unit (\(example))") }
            guard let unit = units.first(where: { $0.suffix == unitText }) else {
                throw Problem("'\(t)' has an unknown unit '\(unitText)' (\(example))")
            }
            total += value * unit.nanoseconds
            guard total < limit else { throw Problem("duration '\(t)' is too long") }
        }
        return .nanoseconds(Int64(total.rounded()))
    }

    /// `parse`, nil instead of the problem.
    public static func value(_ text: String) -> Duration? {
        try? parse(text)
    }

    /// Writes `duration` back in the shortest exact form of the units (`90s` → `1m30s`,
    /// `1.5ms` → `1ms500us`); `0s` for zero or less.
    public static func format(_ duration: Duration) -> String {
        let parts = duration.components
        var nanos = parts.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !nanos.overflow else { return "\(parts.seconds)s" }
        nanos.partialValue += parts.attoseconds / 1_000_000_000
        var left = nanos.partialValue
        if left <= 0 { return "0s" }
        var text = ""
        let sizes: [(String, Int64)] = [
            ("d", 86_400_000_000_000), ("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000),
            ("ms", 1_000_000), ("us", 1000), ("ns", 1),
        ]
        for (suffix, size) in sizes {
            let count = left / size
            if count > 0 {
                text += "\(count)\(suffix)"
                left -= count * size
            }
        }
        return text
    }

    /// A compact form for people (time left, validity), the two largest units, zero tails
    /// dropped: `3649d23h`, `23h59m`, `2h`, `5m30s`, `0s`. The sign is ignored.
    public static func format(seconds: Int64) -> String {
        let s = seconds.magnitude
        let units: [(UInt64, String)] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")]
        guard let first = units.firstIndex(where: { s >= $0.0 }) else { return "0s" }
        let (size, name) = units[first]
        var text = "\(s / size)\(name)"
        if first + 1 < units.count {
            let (smallSize, smallName) = units[first + 1]
            let rest = (s % size) / smallSize
            if rest > 0 { text += "\(rest)\(smallName)" }
        }
        return text
    }

    private static func trimmed(_ s: String) -> String {
        var sub = Substring(s)
        while let f = sub.first, f.isWhitespace { sub = sub.dropFirst() }
        while let l = sub.last, l.isWhitespace { sub = sub.dropLast() }
        return String(sub)
    }
}
