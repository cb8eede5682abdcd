import Foundation
import MeshgateNames

extension GatewayStatus {
    /// `identity.renewal` in `/status`: what the LeafRenewer has done.
    public struct RenewalStatus: Codable, Equatable, Sendable {
        /// Leaves issued since start.
        public var renewals: Int
        /// Failed attempts since start, and since the last success.
        public var failures: Int
        public var consecutiveFailures: Int
        public var lastRenewal: Date?
        public var lastError: String?
        /// When the next attempt is due.
        public var nextAttempt: Date?

        public init(_ s: LeafRenewer.Status) {
            renewals = s.renewals
            failures = s.failures
            consecutiveFailures = s.consecutiveFailures
            lastRenewal = s.lastRenewal
            lastError = s.lastError
            nextAttempt = s.nextAttempt
        }
    }

    /// The `/status` warning when less than `threshold` (1 h) is left on the leaf.
    static func expiryWarning(notAfter: Date?, now: Date, renewal: RenewalStatus?, threshold: TimeInterval = 3_600) -> String? {
        guard let notAfter else { return nil }
        let left = notAfter.timeIntervalSince(now)
        guard left < threshold, left > 0 else { return nil }
        var text = "the certificate expires in \(DurationText.format(.seconds(Int64(left.rounded()))))"
        if let renewal {
            if let error = renewal.lastError {
                text += "; renewal failing (\(renewal.consecutiveFailures) attempts): \(error)"
            } else if let next = renewal.nextAttempt {
                text += "; next renewal in \(DurationText.format(.seconds(Int64(max(0, next.timeIntervalSince(now)).rounded()))))"
            }
        } else {
            text += " and identity.renew is not set: replace it (meshgate identity issue --force, or the Secret)"
        }
        return text
    }
}
