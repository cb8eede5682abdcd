/// `identity.renew`: the gateway re-issues its own leaf before it expires, with the cluster
/// issuer's files (mounted only into the gateway): same identity, a new key (docs/gateway-config.md).
public struct IdentityRenewal: Hashable, Sendable {
    /// The default `before`: renew when 8 hours are left.
    public static let defaultBefore: Duration = .seconds(8 * 3_600)
    /// The default `validity` of a renewed leaf: 24 hours.
    public static let defaultValidity: Duration = .seconds(24 * 3_600)

    /// The issuer folder (`issuer.crt`, `issuer.key`, `ca.crt`, as `meshgate identity issuer` writes it).
    public let issuer: String
    /// Renew when the leaf in use has less than this left.
    public let before: Duration
    /// How long a renewed leaf is valid (never beyond the issuer's notAfter).
    public let validity: Duration

    /// Creates the value; `before` must be less than `validity` (the reader checks).
    public init(issuer: String, before: Duration = defaultBefore, validity: Duration = defaultValidity) {
        self.issuer = issuer
        self.before = before
        self.validity = validity
    }
}
