import Foundation
import Logging
import MeshgateIdentity
import MeshgateNames

/// Renews the gateway's own leaf (`identity.renew`): when the leaf in `identity.cert` has less
/// than `before` left, issues a new one for the same identity with a new key, through
/// MeshgateIdentity's issuing code (the one place leaves are made), writes key then certificate
/// atomically (each to a temporary name, renamed into place), and asks the gateway to reload.
/// A failure (issuer unreadable or expired, a read-only file, …) is logged, counted and retried
/// with exponential backoff (1 s doubling to 5 min) while the old leaf keeps serving.
///
/// Runs on its own thread; reads the settings from the config in force at each step, so a
/// reload that adds, changes or removes `identity.renew` takes effect without a restart.
public final class LeafRenewer: @unchecked Sendable {
    /// What `/status` and `/metrics` show.
    public struct Status: Sendable, Equatable {
        /// Leaves issued and written since start.
        public var renewals = 0
        /// Failed attempts since start.
        public var failures = 0
        /// Failed attempts since the last success.
        public var consecutiveFailures = 0
        public var lastRenewal: Date?
        public var lastError: String?
        /// When the next attempt is due (nil when renewal is not configured).
        public var nextAttempt: Date?
    }

    private let config: () -> GatewayConfig
    private let reload: ([String]) -> Void
    private let logger: Logger
    private let now: () -> Date
    private let thread = StoppableThread(name: "identity-renew")
    // Invariant: `current` is only touched with `lock` held.
    private let lock = NSLock()
    private var current = Status()
    /// Only touched by the renewal thread.
    private var backoff = ReconnectBackoff(initial: .seconds(1), maximum: .seconds(300))

    /// `config` gives the configuration in force; `reload` is called with the files written.
    public init(
        config: @escaping () -> GatewayConfig, reload: @escaping ([String]) -> Void, logger: Logger,
        now: @escaping () -> Date = Date.init
    ) {
        self.config = config
        self.reload = reload
        self.logger = logger
        self.now = now
    }

    /// The counts so far.
    public var status: Status {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// Starts the renewal thread.
    public func start() {
        thread.start { [self] stopSignal in
            while stopSignal.sleep(for: step()) {}
        }
    }

    /// Stops the thread (an attempt in progress finishes first).
    public func stop() {
        thread.stop()
    }

    /// One look at the leaf: renews it when due; returns how long to wait before the next look.
    /// Looks at least every 30 s, so that a leaf replaced by hand is noticed.
    func step() -> Duration {
        let c = config()
        guard let renew = c.identity.renew else {
            update { $0.nextAttempt = nil }
            return .seconds(5)
        }
        let t = now()
        let notAfter = LeafCertificateCache.read(path: c.identity.cert).notAfter
        let due = notAfter.map { $0.addingTimeInterval(-renew.before.seconds) } ?? t
        if due > t {
            backoff.reset()
            update { $0.nextAttempt = due }
            return .nanoseconds(Int64(min(due.timeIntervalSince(t), 30) * 1e9))
        }
        do {
            let leaf = try Self.renew(c, renew, now: t)
            let stillDue = leaf.certificate.notValidAfter.addingTimeInterval(-renew.before.seconds) <= now()
            update {
                $0.renewals += 1
                $0.consecutiveFailures = 0
                $0.lastRenewal = t
                $0.lastError = nil
            }
            logger.info(
                "identity renewed: \(leaf.identity) new leaf and key in \(c.identity.cert), valid until \(Self.iso8601(leaf.certificate.notValidAfter)); reloading"
            )
            reload([c.identity.key, c.identity.cert])
            guard stillDue else {
                backoff.reset()
                return .milliseconds(100)
            }
            // The issuer ends before the leaf could (it was clamped): renewing again at once
            // would give the same; wait as after a failure.
            let wait = backoff.next()
            logger.warning(
                "identity renewal: the new leaf ends at \(Self.iso8601(leaf.certificate.notValidAfter)) (the issuer's notAfter), within renew.before; the issuer needs renewing too; next attempt in \(DurationText.format(wait))"
            )
            update { $0.nextAttempt = now().addingTimeInterval(wait.seconds) }
            return wait
        } catch {
            let wait = backoff.next()
            var failures = 0
            update {
                $0.failures += 1
                $0.consecutiveFailures += 1
                $0.lastError = error.message
                $0.nextAttempt = t.addingTimeInterval(wait.seconds)
                failures = $0.consecutiveFailures
            }
            let left = notAfter.map { "the leaf in use expires \(Self.iso8601($0))" } ?? "no readable leaf in use"
            logger.warning(
                "identity renewal failed (attempt \(failures)): \(error.message); \(left); retrying in \(DurationText.format(wait))")
            return wait
        }
    }

    struct RenewalError: Error {
        let message: String
    }

    /// Issues the gateway's leaf with the issuer in `renew.issuer` and writes key, then certificate.
    static func renew(_ c: GatewayConfig, _ renew: IdentityRenewal, now: Date) throws(RenewalError) -> LeafIdentity {
        do {
            let issuer = try IdentityFolders.loadIssuer(from: renew.issuer)
            guard issuer.cluster == c.cluster, issuer.trustDomain == c.trustDomain else {
                throw RenewalError(
                    message:
                        "\(renew.issuer) is the issuer of cluster \(issuer.cluster) in \(issuer.trustDomain), not of \(c.cluster) in \(c.trustDomain)"
                )
            }
            let leaf = try LeafIdentity.issueGateway(issuer: issuer, validity: renew.validity, now: now)
            try write(leaf.pemPrivateKey, to: c.identity.key, isPrivateKey: true)
            try write(leaf.pemCertificate, to: c.identity.cert, isPrivateKey: false)
            return leaf
        } catch let e as RenewalError {
            throw e
        } catch let e as IdentityError {
            throw RenewalError(message: e.description)
        } catch {
            throw RenewalError(message: "\(error)")
        }
    }

    private static func write(_ contents: String, to path: String, isPrivateKey: Bool) throws(IdentityError) {
        let url = URL(fileURLWithPath: path)
        let file = IdentityFile(name: url.lastPathComponent, contents: contents, isPrivateKey: isPrivateKey)
        try MeshgateIdentity.IdentityFiles.write([file], into: url.deletingLastPathComponent().path, force: true)
    }

    private func update(_ body: (inout Status) -> Void) {
        lock.lock()
        body(&current)
        lock.unlock()
    }

    static func iso8601(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}
