import Foundation

/// Columns padded to their widest cell, three spaces apart, as `kubectl` and `linkerd` print them
/// (`meshgate gateways`, `meshgate routes`, the demo's tables).
public struct TextTable {
    /// The column names, the first line.
    public let header: [String]
    /// The rows under the header.
    public var rows: [[String]] = []

    /// An empty table with these column names.
    public init(_ header: [String]) {
        self.header = header
    }

    /// Adds a row under the others.
    public mutating func add(_ row: [String]) {
        rows.append(row)
    }

    /// The table, one line per row, header first; no trailing spaces.
    public var text: String {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        return all.map { row in
            var line = ""
            for (i, cell) in row.enumerated() where i < widths.count {
                line += i == row.count - 1 ? cell : cell.padding(toLength: widths[i] + 3, withPad: " ", startingAt: 0)
            }
            return line.trimmingTrailingSpaces
        }.joined(separator: "\n")
    }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
