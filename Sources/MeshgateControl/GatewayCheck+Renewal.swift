import Foundation
import MeshgateIdentity
import MeshgateNames

extension GatewayCheck {
    /// `identity.renew` (when set): the issuer folder loads, is this cluster's, is valid now and
    /// for a whole renewed leaf, and the folders of `identity.cert` and `identity.key` are
    /// writable (the renewer writes there).
    static func renewalCheck(_ config: GatewayConfig, now: Date) -> CheckResult? {
        guard let renew = config.identity.renew else { return nil }
        let name = "identity renewal"
        let issuer: ClusterIssuer
        do {
            issuer = try IdentityFolders.loadIssuer(from: renew.issuer)
        } catch {
            return CheckResult(
                name, .failed, "\(renew.issuer): \(error.description)",
                hint: "identity.renew.issuer names the folder `meshgate identity issuer` wrote (issuer.crt, issuer.key, ca.crt)")
        }
        guard issuer.cluster == config.cluster, issuer.trustDomain == config.trustDomain else {
            return CheckResult(
                name, .failed,
                "\(renew.issuer) is the issuer of cluster \(issuer.cluster) in \(issuer.trustDomain), not of \(config.cluster) in \(config.trustDomain)",
                hint: "mount this cluster's issuer")
        }
        let end = issuer.certificate.notValidAfter
        guard issuer.certificate.notValidBefore <= now, end > now else {
            return CheckResult(
                name, .failed, "the issuer \(renew.issuer) is not valid now (until \(LeafRenewer.iso8601(end)))", hint: "renew the issuer")
        }
        for path in [config.identity.cert, config.identity.key] {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            if access(folder, W_OK) != 0 {
                return CheckResult(
                    name, .failed, "\(folder) is not writable: renewed leaves cannot be written there",
                    hint: "keep the identity files in a writable folder, or renew them otherwise (cert-manager, docs/kubernetes.md)")
            }
        }
        let detail =
            "issuer of \(issuer.cluster) valid until \(LeafRenewer.iso8601(end)); renews \(DurationText.format(renew.before)) before expiry, \(DurationText.format(renew.validity)) leaves"
        if end.timeIntervalSince(now) < renew.validity.seconds {
            return CheckResult(
                name, .warning, detail + "; the issuer ends before a whole renewed leaf would",
                hint: "renew the issuer (meshgate identity issuer … --force)")
        }
        return CheckResult(name, .ok, detail)
    }
}
