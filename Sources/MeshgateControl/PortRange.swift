/// An inclusive range of TCP ports, written `A-B` (or a single port `A`).
public struct PortRange: Hashable, Sendable, CustomStringConvertible {
    /// The first port.
    public let lower: UInt16
    /// The last port (≥ `lower`).
    public let upper: UInt16

    /// Creates a range; `lower` must not exceed `upper`.
    public init(lower: UInt16, upper: UInt16) {
        precondition(lower <= upper, "PortRange lower bound above upper bound")
        self.lower = lower
        self.upper = upper
    }

    /// Parses `A-B` (1 ≤ A ≤ B ≤ 65535) or a single port `A`.
    public static func parse(_ text: String) throws(InvalidValue) -> PortRange {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { throw InvalidValue("'\(text)' is not a port range (expected A-B)") }
        let lower = try HostPort.parsePort(parts[0].trimmingSpaces)
        let upper = parts.count == 2 ? try HostPort.parsePort(parts[1].trimmingSpaces) : lower
        guard lower <= upper else { throw InvalidValue("port range \(text) is empty (\(lower) > \(upper))") }
        return PortRange(lower: lower, upper: upper)
    }

    /// How many ports the range holds.
    public var count: Int { Int(upper) - Int(lower) + 1 }

    /// True when `port` lies in the range.
    public func contains(_ port: UInt16) -> Bool { port >= lower && port <= upper }

    /// `A-B`.
    public var description: String { "\(lower)-\(upper)" }
}

extension Substring {
    var trimmingSpaces: Substring {
        var result = self
        while result.first == " " { result = result.dropFirst() }
        while result.last == " " { result = result.dropLast() }
        return result
    }
}
