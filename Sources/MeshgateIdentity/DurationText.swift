/// Durations as the identity commands write them: `24h`, `90m`, `30d`, `8760h`, `1h30m`, `45s`.
public enum DurationText {
    /// Parses one or more `<whole number><unit>` parts, unit `s`, `m`, `h` or `d`; nil for
    /// anything else (no unit, a fraction, a negative number, an overflow).
    public static func parse(_ text: String) -> Duration? {
        var total: Int64 = 0
        var number: Int64? = nil
        for ch in text.utf8 {
            if ch >= UInt8(ascii: "0") && ch <= UInt8(ascii: "9") {
                let (times10, o1) = (number ?? 0).multipliedReportingOverflow(by: 10)
                let (next, o2) = times10.addingReportingOverflow(Int64(ch - UInt8(ascii: "0")))
                guard !o1, !o2 else { return nil }
                number = next
                continue
            }
            guard let n = number, let scale = unitSeconds(ch) else { return nil }
            let (part, o1) = n.multipliedReportingOverflow(by: scale)
            let (sum, o2) = total.addingReportingOverflow(part)
            guard !o1, !o2 else { return nil }
            total = sum
            number = nil
        }
        // A trailing number without a unit, or an empty text, is not a duration.
        guard number == nil, !text.isEmpty else { return nil }
        return .seconds(total)
    }

    /// A compact form, largest two units, zero tails dropped: `3649d23h`, `23h59m`, `2h`, `5m30s`, `0s`.
    /// The sign is ignored.
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

    /// Whole seconds of `duration`, rounded down.
    public static func seconds(_ duration: Duration) -> Int64 {
        duration.components.seconds
    }

    private static func unitSeconds(_ ch: UInt8) -> Int64? {
        switch ch {
        case UInt8(ascii: "s"): return 1
        case UInt8(ascii: "m"): return 60
        case UInt8(ascii: "h"): return 3_600
        case UInt8(ascii: "d"): return 86_400
        default: return nil
        }
    }
}
