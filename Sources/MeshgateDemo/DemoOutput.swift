import Foundation
import MeshgateAdmin

/// How the demo prints: short headed sections, one fact a line, indented under the heading.
enum DemoOutput {
    static func section(_ title: String) {
        print("")
        print("== \(title)")
    }

    static func line(_ text: String) {
        print("   \(text)")
    }

    /// Rows (a header first) as aligned columns, indented.
    static func table(_ rows: [[String]]) {
        guard let header = rows.first else { return }
        var table = TextTable(header)
        for row in rows.dropFirst() { table.add(row) }
        for l in table.text.split(separator: "\n", omittingEmptySubsequences: false) { line(String(l)) }
    }

    /// `0.42 ms`, `12 ms`.
    static func ms(_ seconds: Double) -> String {
        let ms = seconds * 1000
        return ms < 10 ? String(format: "%.2f ms", ms) : String(format: "%.0f ms", ms)
    }

    /// `1.2 s`.
    static func s(_ seconds: Double) -> String { String(format: "%.1f s", seconds) }

    static func since(_ date: Date) -> String { s(Date().timeIntervalSince(date)) }

    /// `1 probe`, `3 probes`.
    static func count(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }

    /// `a, b and c`.
    static func list(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + items.last!
    }

    /// The `q` quantile of `values` (seconds), nil when empty.
    static func quantile(_ values: [Double], _ q: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count - 1)).rounded())))]
    }

    /// `1.2 KB`, `340 B`.
    static func bytes(_ n: Int) -> String {
        if n < 1000 { return "\(n) B" }
        if n < 1_000_000 { return String(format: "%.1f KB", Double(n) / 1000) }
        return String(format: "%.1f MB", Double(n) / 1_000_000)
    }

    /// The first line of an answer body, shortened.
    static func quote(_ body: String) -> String {
        let first = body.split(separator: "\n").first.map(String.init) ?? ""
        return "\"" + (first.count > 90 ? String(first.prefix(89)) + "…" : first) + "\""
    }
}
