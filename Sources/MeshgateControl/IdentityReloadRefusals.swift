import Foundation

/// How many identity reloads were refused (the new files failed `IdentityVerification`; the
/// current identity stayed in use), and the last reason. Any thread may read it.
public final class IdentityReloadRefusals: @unchecked Sendable {
    // Invariant: the fields are only touched with `lock` held.
    private let lock = NSLock()
    private var total = 0
    private var last: (reason: String, at: Date)?

    public init() {}

    /// Refused reloads since the gateway started.
    public var count: Int { lock.withLock { total } }

    /// The last refusal's reasons (`file: field: message`, `; `-separated) and when.
    public var lastRefusal: (reason: String, at: Date)? { lock.withLock { last } }

    /// Counts one refused reload.
    public func record(_ reason: String, at date: Date = Date()) {
        lock.withLock {
            total += 1
            last = (reason, date)
        }
    }
}
