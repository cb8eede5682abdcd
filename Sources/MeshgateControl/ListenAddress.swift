/// Checks for addresses the gateway binds: these need an IP literal, not a host name.
enum ListenAddress {
    /// `ip:port` or `[ipv6]:port`.
    static func parse(_ text: String) throws(InvalidValue) -> HostPort {
        let address = try HostPort.parse(text)
        guard address.isIPLiteral else {
            throw InvalidValue("'\(address.host)' is not an IP address (a listen address needs one; 0.0.0.0 or [::] for all)")
        }
        return address
    }

    /// An IP literal without port; IPv6 may be written with or without brackets and is stored without.
    static func parseBind(_ text: String) throws(InvalidValue) -> String {
        let host = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
        guard IPAddress.isIP(host) else {
            if host.contains(":"), !IPAddress.isIPv6(host), host.split(separator: ":").count == 2 {
                throw InvalidValue("'\(text)' has a port; write only the address (ports come from outbound.ports)")
            }
            throw InvalidValue("'\(text)' is not an IP address")
        }
        return host
    }
}
