import Foundation
import MeshgateNames
import Logging
import NIOConcurrencyHelpers

/// Leader election over a `coordination.k8s.io/v1` Lease (client-go's leaderelection, small).
///
/// - Every replica reads the lease every `retryPeriod`. Nobody holds it, or its holder's lease
///   expired (``KubeLeaseClock/expiry(renewTime:observedAt:retryPeriod:leaseDuration:)``): take it.
///   A follower wakes right at the expiry, so a vanished holder is replaced within the lease duration.
/// - The holder renews every `retryPeriod`; when it has not renewed by
///   ``KubeLeaseClock/renewDeadline(renewStart:retryPeriod:leaseDuration:)`` it stops leading.
/// - Every write is compare-and-swap (PUT with the resourceVersion read); 409 → read again at once.
/// - ``stop()`` releases a held lease (holderIdentity cleared, renewTime kept), so another
///   replica takes over at its next read instead of waiting for the expiry. ``release()`` does the
///   same and waits for it.
///
/// `onChange` is called serially, on each change of ``isLeader``.
public final class KubeLeaseElector: Sendable {
    private struct Observed {
        var resourceVersion: String
        var observedAt: Date
    }

    private struct State {
        var status = KubeLeaseStatus()
        var observed: Observed?
        var renewDeadline: Date?
        var loop: Task<Void, Never>?
        var watchdog: Task<Void, Never>?
        var releasing: Task<Void, Never>?
        var stopped = false
    }

    private let client: KubeClient
    private let namespace: String
    private let name: String
    private let identity: String
    private let leaseDuration: TimeInterval
    private let retryPeriod: TimeInterval
    private let logger: Logger
    private let onChange: @Sendable (Bool) -> Void
    private let state = NIOLockedValueBox(State())
    private let callbackLock = NIOLock()

    /// An elector for lease `namespace/name` as `identity`.
    public init(
        client: KubeClient, namespace: String, name: String, identity: String,
        leaseDuration: Duration = .seconds(15), retryPeriod: Duration = .seconds(2), logger: Logger,
        onChange: @escaping @Sendable (_ leading: Bool) -> Void
    ) {
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.leaseDuration = leaseDuration.seconds
        self.retryPeriod = retryPeriod.seconds
        self.logger = logger
        self.onChange = onChange
    }

    /// Starts competing for the lease (once).
    public func start() {
        state.withLockedValue { s in
            guard s.loop == nil, !s.stopped else { return }
            s.loop = Task { [self] in await self.run() }
            s.watchdog = Task { [self] in await self.watch() }
        }
    }

    /// Stops competing and releases a held lease in the background; returns at once.
    public func stop() {
        _ = beginRelease()
    }

    /// Stops competing and releases a held lease; returns when the release is written (or failed).
    public func release() async {
        await beginRelease().value
    }

    /// Whether this elector leads now.
    public var isLeader: Bool { state.withLockedValue { $0.status.leading } }

    /// What the elector knows.
    public var status: KubeLeaseStatus { state.withLockedValue { $0.status } }

    /// Tests: stops renewing without releasing, as a killed process would.
    func abandon() async {
        let (loop, watchdog) = state.withLockedValue { s in
            s.stopped = true
            s.loop?.cancel()
            s.watchdog?.cancel()
            return (s.loop, s.watchdog)
        }
        await loop?.value
        await watchdog?.value
        setLeading(false)
    }

    private func beginRelease() -> Task<Void, Never> {
        state.withLockedValue { s in
            if let releasing = s.releasing { return releasing }
            s.stopped = true
            s.loop?.cancel()
            s.watchdog?.cancel()
            let (loop, watchdog) = (s.loop, s.watchdog)
            let task = Task { [self] in
                await loop?.value
                await watchdog?.value
                await self.releaseLease()
            }
            s.releasing = task
            return task
        }
    }

    // MARK: - The loop

    private func run() async {
        while !Task.isCancelled {
            let delay = await step()
            if delay > 0 { try? await Task.sleep(for: .milliseconds(Int64(min(delay, 3600) * 1000))) }
        }
    }

    /// One read (and maybe a write); returns how long to wait before the next.
    private func step() async -> TimeInterval {
        let now = Date()
        let lease: KubeLease
        do {
            lease = try await client.get(KubeLease.self, namespace: namespace, name: name)
        } catch let error where error.isNotFound {
            return await create(now: now)
        } catch {
            return failed(error, "read")
        }
        let observedAt = observe(lease, now: now)
        let holder = lease.spec.holderIdentity ?? ""
        if !holder.isEmpty, holder != identity {
            let expiry = KubeLeaseClock.expiry(
                renewTime: lease.spec.renewTime.flatMap(KubeMicroTime.parse), observedAt: observedAt,
                retryPeriod: retryPeriod,
                leaseDuration: lease.spec.leaseDurationSeconds.map(Double.init) ?? leaseDuration)
            let remaining = expiry.timeIntervalSince(Date())
            if remaining > 0 {
                setLeading(false)
                return min(retryPeriod, remaining)
            }
            logger.info("lease \(namespace)/\(name): \(holder)'s lease expired: taking it")
        }
        var updated = lease
        let stamp = KubeMicroTime.format(now)
        if holder == identity {
            updated.spec.renewTime = stamp
        } else {
            updated.spec.holderIdentity = identity
            updated.spec.acquireTime = stamp
            updated.spec.renewTime = stamp
            updated.spec.leaseTransitions = (lease.spec.leaseTransitions ?? 0) + 1
        }
        updated.spec.leaseDurationSeconds = KubeLeaseClock.durationSeconds(leaseDuration)
        do {
            let written = try await client.replace(updated)
            renewed(written, start: now)
            return retryPeriod
        } catch let error where error.isConflict {
            return 0
        } catch {
            return failed(error, "renew")
        }
    }

    private func create(now: Date) async -> TimeInterval {
        let stamp = KubeMicroTime.format(now)
        let lease = KubeLease(
            metadata: KubeObjectMeta(name: name, namespace: namespace),
            spec: .init(
                holderIdentity: identity, leaseDurationSeconds: KubeLeaseClock.durationSeconds(leaseDuration),
                acquireTime: stamp, renewTime: stamp, leaseTransitions: 0))
        do {
            renewed(try await client.create(lease), start: now)
            return retryPeriod
        } catch let error where error.isConflict {
            return 0
        } catch {
            return failed(error, "create")
        }
    }

    /// Notes a read lease; returns when its resourceVersion was first seen here.
    private func observe(_ lease: KubeLease, now: Date) -> Date {
        state.withLockedValue { s in
            let rv = lease.metadata.resourceVersion ?? ""
            if s.observed?.resourceVersion != rv { s.observed = Observed(resourceVersion: rv, observedAt: now) }
            s.status.holder = lease.spec.holderIdentity.flatMap { $0.isEmpty ? nil : $0 }
            s.status.transitions = lease.spec.leaseTransitions ?? 0
            s.status.lastError = nil
            return s.observed!.observedAt
        }
    }

    private func renewed(_ lease: KubeLease, start: Date) {
        _ = observe(lease, now: start)
        state.withLockedValue { s in
            s.status.lastRenew = start
            s.renewDeadline = KubeLeaseClock.renewDeadline(
                renewStart: start, retryPeriod: retryPeriod, leaseDuration: leaseDuration)
        }
        setLeading(true)
    }

    private func failed(_ error: KubeError, _ what: String) -> TimeInterval {
        if Task.isCancelled { return retryPeriod }  // stopping: not a failure to report
        let text = "\(what) lease \(namespace)/\(name): \(error)"
        let first = state.withLockedValue { s in
            defer { s.status.lastError = text }
            return s.status.lastError != text
        }
        if first { logger.warning("\(text)") } else { logger.debug("\(text)") }
        return retryPeriod
    }

    /// Drops leadership when the holder could not renew in time.
    private func watch() async {
        while !Task.isCancelled {
            let deadline: Date? = state.withLockedValue { $0.status.leading ? $0.renewDeadline : nil }
            let wait = deadline.map { $0.timeIntervalSinceNow } ?? retryPeriod
            if deadline != nil, wait <= 0 {
                logger.warning("lease \(namespace)/\(name): not renewed in time: no longer leading")
                setLeading(false)
                continue
            }
            try? await Task.sleep(for: .milliseconds(Int64(min(max(wait, 0.01), 3600) * 1000)))
        }
    }

    private func setLeading(_ leading: Bool) {
        callbackLock.withLock {
            let changed = state.withLockedValue { s in
                defer { s.status.leading = leading }
                if !leading { s.renewDeadline = nil }
                return s.status.leading != leading
            }
            if changed {
                logger.info("lease \(namespace)/\(name): \(identity) \(leading ? "leads" : "no longer leads")")
                onChange(leading)
            }
        }
    }

    /// Gives a held lease back: holderIdentity cleared (compare-and-swap; a few tries on 409).
    private func releaseLease() async {
        guard isLeader else { return }
        for _ in 0..<3 {
            do {
                var lease = try await client.get(KubeLease.self, namespace: namespace, name: name)
                guard lease.spec.holderIdentity == identity else { break }
                lease.spec.holderIdentity = nil
                _ = try await client.replace(lease)
                logger.info("lease \(namespace)/\(name): released by \(identity)")
                break
            } catch let error where error.isConflict {
                continue
            } catch {
                _ = failed(error, "release")
                break
            }
        }
        setLeading(false)
    }
}
