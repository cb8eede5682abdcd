/// Checks for the DNS shapes meshgate uses everywhere: RFC 1123 labels (Kubernetes names,
/// cluster names, identity namespaces) and dotted names (trust domains, service accounts, host
/// names). The one copy of these rules.
public enum DNSName {
    /// True when `text` is a lowercase RFC 1123 label: 1–63 of `a-z`, `0-9`, `-`, not starting
    /// or ending with `-`. Kubernetes namespaces, service names and meshgate cluster names are labels.
    public static func isLabel<S: StringProtocol>(_ text: S) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 63, bytes.first != hyphen, bytes.last != hyphen else { return false }
        return bytes.allSatisfy { isLower($0) || isDigit($0) || $0 == hyphen }
    }

    /// True when `text` is one or more lowercase labels joined by dots, at most 253 bytes.
    public static func isName(_ text: String) -> Bool {
        guard text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isLabel($0) }
    }

    /// True when `text` can name a host: a dotted name in any letter case, labels of
    /// letters, digits, `-` and `_` (some internal resolvers use it), not starting or ending with `-`.
    public static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        let trimmed = text.hasSuffix(".") ? String(text.dropLast()) : text
        return trimmed.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let bytes = Array(label.utf8)
            guard !bytes.isEmpty, bytes.count <= 63, bytes.first != hyphen, bytes.last != hyphen else { return false }
            return bytes.allSatisfy { isLower($0 | 0x20) || isDigit($0) || $0 == hyphen || $0 == underscore }
        }
    }

    /// Why `text` is not a label, or nil when it is one.
    public static func labelProblem(_ text: String) -> String? {
        guard !isLabel(text) else { return nil }
        if text.isEmpty { return "must not be empty" }
        if text.utf8.count > 63 { return "'\(text)' is longer than 63 characters" }
        return "'\(text)' is not a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit)"
    }

    private static let hyphen = UInt8(ascii: "-")
    private static let underscore = UInt8(ascii: "_")
    private static func isLower(_ c: UInt8) -> Bool { c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") }
    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
}
