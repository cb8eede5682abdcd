/// A host and TCP port: `127.0.0.1:7000`, `[::1]:7000` or `localhost:7000`.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// Host name or literal address (IPv6 without brackets).
    public var host: String
    /// TCP port.
    public var port: UInt16

    /// An endpoint for `host` and `port`.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, or `[V6]:PORT` for IPv6 literals.
    public static func parse(_ s: String) throws -> Endpoint {
        let text = s.trimmingWhitespace()
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw LoadError.invalidEndpoint(s) }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw LoadError.invalidEndpoint(s) }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw LoadError.invalidEndpoint(s) }
            host = text[..<colon]
            guard !host.contains(":") else { throw LoadError.invalidEndpoint(s) }  // bare IPv6 needs brackets
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = UInt16(portText) else { throw LoadError.invalidEndpoint(s) }
        return Endpoint(host: String(host), port: port)
    }

    /// `host:port`, with brackets around IPv6 literals.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
