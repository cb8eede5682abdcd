#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Recognizes IP address literals (through `inet_pton`, so exactly what the socket layer accepts).
public enum IPAddress {
    /// True for a dotted-quad IPv4 literal such as `10.0.0.2`.
    public static func isIPv4(_ text: String) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1
    }

    /// True for an IPv6 literal without brackets, such as `::1` or `fd00::2`.
    public static func isIPv6(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }

    /// True for either family.
    public static func isIP(_ text: String) -> Bool { isIPv4(text) || isIPv6(text) }

    /// True for the wildcard addresses `0.0.0.0` and `::`.
    public static func isWildcard(_ text: String) -> Bool {
        if isIPv4(text) { return text == "0.0.0.0" }
        guard isIPv6(text) else { return false }
        var address = in6_addr()
        _ = inet_pton(AF_INET6, text, &address)
        return withUnsafeBytes(of: &address) { $0.allSatisfy { $0 == 0 } }
    }
}
