import Foundation
import MeshgateNames

/// The notBefore/notAfter of a certificate about to be signed, in whole seconds (what X.509
/// stores), kept inside the signer's own validity.
public struct ValidityWindow: Equatable, Sendable {
    /// How far before `now` certificates start to be valid, for peers whose clocks lag: 5 minutes.
    public static let clockSkewAllowance: Int64 = 300
    /// The longest validity accepted: 100 years.
    public static let maximum: Duration = .seconds(100 * 365 * 86_400)

    /// Start of validity.
    public let notBefore: Date
    /// End of validity.
    public let notAfter: Date
    /// The end that was asked for, when it lay beyond the signer's notAfter and was cut back to
    /// it; nil when the request fit.
    public let clampedFrom: Date?

    /// `now − 5 min ... now + validity`, both cut to the signer's window when given.
    ///
    /// - Throws: ``IdentityError/Code/invalidArgument`` for a validity not in 1 s ... 100 years;
    ///   ``IdentityError/Code/expired`` when the signer is not valid at `now`.
    public init(now: Date, validity: Duration, within signer: (notBefore: Date, notAfter: Date, name: String)? = nil)
        throws(IdentityError)
    {
        let seconds = validity.components.seconds
        guard seconds >= 1, validity <= Self.maximum else {
            throw IdentityError(.invalidArgument, "validity \(DurationText.format(seconds: seconds)): must be from 1s to 100 years")
        }
        let start = Self.wholeSeconds(now)
        var notBefore = start.addingTimeInterval(-TimeInterval(Self.clockSkewAllowance))
        var notAfter = start.addingTimeInterval(TimeInterval(seconds))
        var clampedFrom: Date? = nil
        if let signer {
            guard signer.notAfter > start else {
                throw IdentityError(.expired, "\(signer.name) expired \(Self.describe(signer.notAfter)); it cannot sign")
            }
            guard signer.notBefore <= start else {
                throw IdentityError(.expired, "\(signer.name) is not valid before \(Self.describe(signer.notBefore)); it cannot sign yet")
            }
            notBefore = max(notBefore, signer.notBefore)
            if notAfter > signer.notAfter {
                clampedFrom = notAfter
                notAfter = signer.notAfter
            }
        }
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.clampedFrom = clampedFrom
    }

    /// `date` rounded down to a whole second.
    public static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    /// `2030-06-01T12:00:00Z`.
    public static func describe(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
