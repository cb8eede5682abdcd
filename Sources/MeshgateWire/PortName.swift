/// The rule for a service port's name: an IANA service name as Kubernetes defines it
/// (`IANA_SVC_NAME`): 1–15 characters of `[a-z0-9-]`, at least one letter, no leading or
/// trailing `-`, and no `--`.
public enum PortName {
    /// The longest name: 15 bytes.
    public static let maxLength = 15

    /// Whether `name` follows the rule.
    public static func isValid(_ name: String) -> Bool {
        FieldSyntax.portName.isValid(name.utf8)
    }

    /// Why `name` breaks the rule (for messages), or nil when it is valid.
    public static func problem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        if bytes.isEmpty { return "is empty" }
        if bytes.count > maxLength { return "is longer than \(maxLength) characters" }
        let allowed = bytes.allSatisfy { FieldSyntax.portName.allowsByte($0, at: 1) }
        if !allowed { return "may hold only lowercase letters, digits and '-'" }
        if bytes.first == UInt8(ascii: "-") || bytes.last == UInt8(ascii: "-") { return "may not begin or end with '-'" }
        if name.contains("--") { return "may not contain '--'" }
        if !bytes.contains(where: { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }) { return "needs at least one letter" }
        return nil
    }
}
