/// Durations as the configuration writes them: a number and a unit, `500ms`, `5s`, `10m`, `1h`,
/// `1d`; several may follow each other (`1h30m`) and a number may have a fraction (`1.5s`).
public enum ConfigDuration {
    private static let units: [(suffix: String, nanoseconds: Int64)] = [
        ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000),
        ("h", 3_600_000_000_000), ("d", 86_400_000_000_000),
    ]

    /// Parses a duration; a bare number without unit is refused (is `5` seconds or milliseconds?).
    public static func parse(_ text: String) throws(InvalidValue) -> Duration {
        let example = "use a number and a unit: 500ms, 5s, 10m, 1h, 1d"
        guard !text.isEmpty else { throw InvalidValue("empty duration (\(example))") }
        var total: Int64 = 0
        var rest = Substring(text)
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(unitText.count)
            guard !number.isEmpty, let value = Double(number), value.isFinite else {
                throw InvalidValue("'\(text)' is not a duration (\(example))")
            }
            guard !unitText.isEmpty else { throw InvalidValue("'\(text)' has no unit (\(example))") }
            guard let unit = units.first(where: { $0.suffix == unitText }) else {
                throw InvalidValue("'\(text)' has an unknown unit '\(unitText)' (\(example))")
            }
            let nanos = value * Double(unit.nanoseconds)
            guard nanos < Double(Int64.max) - Double(total) else { throw InvalidValue("duration '\(text)' is too long") }
            total += Int64(nanos)
        }
        return .nanoseconds(total)
    }

    /// Writes a duration back in the shortest exact form of the units above (`90s` → `1m30s`);
    /// sub-millisecond parts are rounded down.
    public static func format(_ duration: Duration) -> String {
        let parts = duration.components
        var millis = parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000
        if millis <= 0 { return "0s" }
        var text = ""
        for (suffix, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
            let count = millis / size
            if count > 0 {
                text += "\(count)\(suffix)"
                millis -= count * size
            }
        }
        return text
    }
}
