/// Syntax checks for the DNS names that meshgate identities are built from: lowercase letters,
/// digits and `-`, labels of 1 to 63 bytes that neither start nor end with `-`.
public enum DNSName {
    /// True when `label` is one DNS label (no dots).
    public static func isLabel<S: StringProtocol>(_ label: S) -> Bool {
        guard !label.isEmpty, label.utf8.count <= 63, label.first != "-", label.last != "-" else { return false }
        return label.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: "-")
        }
    }

    /// True when `name` is one or more labels joined by dots, at most 253 bytes.
    public static func isName<S: StringProtocol>(_ name: S) -> Bool {
        guard name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isLabel($0) }
    }
}
