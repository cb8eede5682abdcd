import ArgumentParser
import MeshgateNames

/// Flags whose value must be a DNS label or name, with the usage error the identity subcommands
/// word alike.
enum DNSNameFlag {
    /// A usage error naming `--flag` unless `value` is a DNS label (`DNSName.isLabel`).
    static func requireLabel(_ value: String, flag: String) throws {
        guard DNSName.isLabel(value) else {
            throw ValidationError("--\(flag) '\(value)': not a DNS label (1-63 lowercase letters, digits, '-')")
        }
    }

    /// A usage error naming `--flag` unless `value` is a DNS name (`DNSName.isName`).
    static func requireName(_ value: String, flag: String) throws {
        guard DNSName.isName(value) else {
            throw ValidationError("--\(flag) '\(value)': not a DNS name (lowercase letters, digits, '-', dots)")
        }
    }
}
