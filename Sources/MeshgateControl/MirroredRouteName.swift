import Crypto

/// The local name of a service mirrored from another cluster: `<name>-<cluster>`, in the
/// service's own namespace (docs/links.md, "Mirrored routes").
///
/// A name that would be longer than a DNS label allows (63 characters) is shortened
/// deterministically: the first 54 characters of `<name>-<cluster>` (without a trailing `-`),
/// a `-`, and the first 8 hexadecimal digits of the SHA-256 of the whole `<name>-<cluster>`.
/// Every gateway computes the same short name for the same service and cluster.
public enum MirroredRouteName {
    /// The longest name: a DNS label.
    public static let maxLength = 63
    /// Hexadecimal digits of the hash suffix of a shortened name.
    public static let hashDigits = 8

    /// The local name of service `name` of `cluster`.
    public static func of(service name: String, cluster: String) -> String {
        let full = "\(name)-\(cluster)"
        guard full.utf8.count > maxLength else { return full }
        let digest = SHA256.hash(data: Array(full.utf8))
        let hex = digest.prefix(hashDigits / 2).map { byte in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
        var head = String(full.prefix(maxLength - hashDigits - 1))
        while head.hasSuffix("-") { head.removeLast() }
        return "\(head)-\(hex)"
    }
}
