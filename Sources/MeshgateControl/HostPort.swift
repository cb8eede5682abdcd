import MeshgateNames
/// A host and a port, written `host:port` (`[v6]:port` for an IPv6 address).
///
/// The host is an IP literal or a host name; IPv6 literals are stored without brackets.
public struct HostPort: Hashable, Sendable, CustomStringConvertible {
    /// An IPv4 literal, an IPv6 literal (no brackets) or a host name.
    public let host: String
    /// 1…65535.
    public let port: UInt16

    /// Creates a value without validation.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` or `[ipv6]:port`, checking the port range (1…65535) and the host's shape.
    public static func parse(_ text: String) throws(InvalidValue) -> HostPort {
        let hostPart: String
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw InvalidValue("'\(text)' has '[' without ']'") }
            hostPart = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw InvalidValue("'\(text)' has no port (expected [address]:port)") }
            portPart = rest.dropFirst()
            guard IPAddress.isIPv6(hostPart) else { throw InvalidValue("'\(hostPart)' is not an IPv6 address") }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw InvalidValue("'\(text)' has no port (expected host:port)")
            }
            hostPart = String(text[..<colon])
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") {
                throw InvalidValue("'\(text)': an IPv6 address needs brackets, e.g. [::1]:4143")
            }
            guard !hostPart.isEmpty else { throw InvalidValue("'\(text)' has no host") }
            guard IPAddress.isIPv4(hostPart) || DNSName.isHostName(hostPart) else {
                throw InvalidValue("'\(hostPart)' is neither an IP address nor a host name")
            }
        }
        return HostPort(host: hostPart, port: try parsePort(portPart))
    }

    /// Parses a port number written in decimal, 1…65535.
    public static func parsePort<S: StringProtocol>(_ text: S) throws(InvalidValue) -> UInt16 {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw InvalidValue(text.isEmpty ? "missing port number" : "'\(text)' is not a port number")
        }
        guard let value = Int(text), value >= 1, value <= 65535 else { throw InvalidValue("port \(text) out of range") }
        return UInt16(value)
    }

    /// True when the host is an IP literal (either family).
    public var isIPLiteral: Bool { IPAddress.isIP(host) }

    /// True when the host is an IPv6 literal.
    public var isIPv6: Bool { IPAddress.isIPv6(host) }

    /// `host:port`, with brackets around an IPv6 host.
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// True when two listening addresses cannot both be bound: same port and the same host, or
    /// one is a wildcard covering the other (`0.0.0.0` covers IPv4, `::` covers both families).
    public func overlaps(_ other: HostPort) -> Bool {
        guard port == other.port else { return false }
        if host == other.host { return true }
        let (a, b) = (host, other.host)
        if (IPAddress.isWildcard(a) && IPAddress.isIPv6(a)) || (IPAddress.isWildcard(b) && IPAddress.isIPv6(b)) { return true }
        if IPAddress.isWildcard(a) { return IPAddress.isIPv4(b) }
        if IPAddress.isWildcard(b) { return IPAddress.isIPv4(a) }
        return false
    }
}
