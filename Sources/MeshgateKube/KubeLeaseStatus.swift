import Foundation

/// What a ``KubeLeaseElector`` knows: for `/status` and metrics.
public struct KubeLeaseStatus: Hashable, Sendable {
    /// The lease's holder as last read (nil: nobody, or not read yet).
    public var holder: String?
    /// This elector leads.
    public var leading = false
    /// The lease's `leaseTransitions` as last read.
    public var transitions = 0
    /// When this elector last renewed (or acquired) the lease.
    public var lastRenew: Date?
    /// The last failed call, cleared by the next success.
    public var lastError: String?

    /// An empty status.
    public init() {}
}

/// The lease arithmetic, as pure functions.
public enum KubeLeaseClock {
    /// When a lease held by someone else expires, seen from this process: the record's
    /// `renewTime` clamped to `[observedAt − retryPeriod, observedAt]` (so a skewed clock on the
    /// holder can neither make it expire early nor keep it forever), plus `leaseDuration`.
    /// `observedAt` is when this record (this resourceVersion) was first read here.
    public static func expiry(
        renewTime: Date?, observedAt: Date, retryPeriod: TimeInterval, leaseDuration: TimeInterval
    ) -> Date {
        let low = observedAt.addingTimeInterval(-retryPeriod)
        let renewed = min(max(renewTime ?? observedAt, low), observedAt)
        return renewed.addingTimeInterval(leaseDuration)
    }

    /// Until when a holder may keep leading after a renewal that started at `renewStart`: the
    /// lease duration less a margin of `min(retryPeriod, leaseDuration / 4)`, so it steps down
    /// before any other replica can see the lease expire.
    public static func renewDeadline(
        renewStart: Date, retryPeriod: TimeInterval, leaseDuration: TimeInterval
    ) -> Date {
        renewStart.addingTimeInterval(leaseDuration - min(retryPeriod, leaseDuration / 4))
    }

    /// `leaseDurationSeconds` for a duration: whole seconds, rounded up, at least 1.
    public static func durationSeconds(_ duration: TimeInterval) -> Int {
        max(1, Int(duration.rounded(.up)))
    }
}
