/// Parses durations written as `250ms`, `5s`, `10m`, `1h`, `1h30m` or a bare number of seconds.
/// Anything longer than about 290 years (Int64 nanoseconds) is refused, not wrapped or trapped.
public enum DurationParser {
    /// The longest duration accepted, in nanoseconds.
    static let limit = 9.0e18
    /// The parsed duration, or nil when `text` is not a duration.
    public static func parse(_ text: String) -> Duration? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.isEmpty { return nil }
        if let seconds = Double(t), seconds >= 0, seconds.isFinite {
            guard seconds * 1e9 < limit else { return nil }
            return .nanoseconds(Int64(seconds * 1e9))
        }
        var total: Int64 = 0
        var number = ""
        var unit = ""
        var sawAny = false
        func flush() -> Bool {
            guard let n = Double(number), n >= 0, n.isFinite else { return false }
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            case "d": scale = 86400e9
            default: return false
            }
            guard n * scale < limit, Double(total) + n * scale < limit else { return false }
            total += Int64(n * scale)
            number = ""
            unit = ""
            sawAny = true
            return true
        }
        for ch in t {
            if ch.isNumber || ch == "." {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(ch)
            } else if ch.isLetter {
                guard !number.isEmpty else { return nil }
                unit.append(ch)
            } else {
                return nil
            }
        }
        guard flush(), sawAny else { return nil }
        return .nanoseconds(total)
    }
}

import Foundation
