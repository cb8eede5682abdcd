import Foundation
import Logging
import MeshgateKube
import MeshgateProxy
import MeshgateWire

/// What the Kubernetes mirror writer reads from the gateway at each reconciliation.
public struct MirroredServiceInput: Sendable {
    /// The mirrored routes, each with the port of its listener (nil while it has none).
    public var routes: [MirroredServiceRoute]
    /// Each linked cluster's services by `namespace/name` (their port order and names).
    public var remote: [String: [String: DiscoveredService]]
    /// Which clusters are linked and synced.
    public var links: MirroredServiceLinks

    public init(routes: [MirroredServiceRoute], remote: [String: [String: DiscoveredService]], links: MirroredServiceLinks) {
        self.routes = routes
        self.remote = remote
        self.links = links
    }
}

/// Writes the Services `<svc>-<cluster>` the mirrored routes call for (`mirror.kubernetes.services`;
/// docs/kubernetes.md, "Mirrored Services").
///
/// Every replica watches the owned Services (an informer on `mirror.linkerd.io/mirrored-service=true`,
/// all namespaces) and serves its routes; only the holder of the Lease writes. A reconciliation
/// (`poke()`, an informer change, a leadership change, every `recheckInterval`) builds the
/// `MirroredServicePlan` from `input()` and applies the `MirroredServiceReconciler`'s actions one
/// by one, each after a token of the `writesPerSecond` bucket. A Service written is remembered
/// until the informer shows it (so that the echo of its own write never causes another write); a
/// create answered 409 reads the Service: one not meshgate's becomes a conflict, re-read every
/// `recheckInterval` so that a conflict that goes away heals. Failed calls are retried with
/// backoff (full jitter).
public final class KubernetesMirrorWriter: @unchecked Sendable {
    /// The API client for Services (its own connection pool; shut down by `stop()`); its
    /// `requestCounts` are the writer's Service calls only.
    public let client: KubeClient
    /// The API client of the Lease election (shut down by `stop()`).
    public let leaseClient: KubeClient
    let logger: Logger
    /// Failed calls: one line per Service and operation a minute at most.
    let errorLog: RateLimitedLog
    let gatewaySelector: [String: String]
    let input: @Sendable () -> MirroredServiceInput
    let observed: @Sendable ([String: KubeService]) -> Void
    let recheckInterval: Duration
    let overlayTimeout: Duration
    let informer: KubeInformer<KubeService>
    let elector: KubeLeaseElector
    /// Where the informer's and the elector's callbacks find the writer (set once, at the end of init).
    private let callbacks = Callbacks()
    private let wake: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation

    /// A write not yet seen by the informer.
    enum Overlay {
        case written(KubeService, at: ContinuousClock.Instant)
        case deleted(uid: String?, at: ContinuousClock.Instant)
    }

    // Everything below is guarded by `lock`.
    let lock = NSLock()
    private var cache: [String: KubeService] = [:]
    /// The informer has delivered its first list.
    private var listed = false
    var overlay: [String: Overlay] = [:]
    /// Names taken by a Service that is not meshgate's (found on create), with why.
    var foreign: [String: String] = [:]
    private var conflicts: [String: MirrorServiceConflict] = [:]
    var writes: [String: Int] = [:]
    var lastError: String?
    private var desiredCount = 0
    var pending = 0
    var bucket: WriteTokenBucket
    /// Bumped by `poke()`: a pass stops early when its input changed.
    private var generation = 0
    private var failures = 0
    private var stopped = false
    private var tasks: [Task<Void, Never>] = []
    private var retry: Task<Void, Never>?

    /// A writer for `settings` with its own client; `input` is called at every reconciliation,
    /// `observed` with the informer's Services (by `namespace/name`) whenever they change.
    public convenience init(
        settings: KubernetesMirrorSettings, logger: Logger,
        observed: @escaping @Sendable ([String: KubeService]) -> Void = { _ in },
        input: @escaping @Sendable () -> MirroredServiceInput
    ) throws(KubeConfigError) {
        let config = try settings.api.clientConfig()
        self.init(
            settings: settings, client: KubeClient(config: config, logger: logger),
            leaseClient: KubeClient(config: config, logger: logger), logger: logger, observed: observed, input: input)
    }

    /// A writer using `client` for Services and `leaseClient` for the Lease (`stop()` shuts both down).
    public init(
        settings: KubernetesMirrorSettings, client: KubeClient, leaseClient: KubeClient, logger: Logger,
        recheckInterval: Duration = .seconds(10),
        overlayTimeout: Duration = .seconds(10), observed: @escaping @Sendable ([String: KubeService]) -> Void = { _ in },
        input: @escaping @Sendable () -> MirroredServiceInput
    ) {
        self.observed = observed
        self.client = client
        self.leaseClient = leaseClient
        self.logger = logger
        errorLog = RateLimitedLog(logger: logger, interval: .seconds(60))
        self.input = input
        gatewaySelector = settings.gatewaySelector
        self.recheckInterval = recheckInterval
        self.overlayTimeout = overlayTimeout
        bucket = WriteTokenBucket(perSecond: settings.writesPerSecond)
        (wake, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let selector = try? KubeLabelSelector.parse(KubernetesNames.mirroredServiceSelector)
        let callbacks = callbacks
        informer = KubeInformer<KubeService>(
            client: client, namespace: nil, labelSelector: selector, logger: logger,
            onChange: { services in callbacks.writer?.cacheChanged(services) })
        elector = KubeLeaseElector(
            client: leaseClient, namespace: settings.leaseNamespace, name: settings.leaseName, identity: settings.holder,
            leaseDuration: settings.leaseDuration, retryPeriod: settings.leaseRetry, logger: logger,
            onChange: { leading in callbacks.writer?.leadershipChanged(leading) })
        callbacks.writer = self
    }

    /// A weak reference to the writer for callbacks made before `init` could capture `self`.
    /// Invariant: `writer` is set once, before `start()` lets any callback run.
    private final class Callbacks: @unchecked Sendable {
        weak var writer: KubernetesMirrorWriter?
    }

    /// Starts the informer, the Lease election and the reconciliation loop.
    public func start() {
        informer.start()
        elector.start()
        let stream = wake
        let loop = Task { [weak self] in
            for await _ in stream {
                guard let self, !isStopped else { return }
                await reconcileOnce()
            }
        }
        let ticker = Task { [weak self, recheckInterval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: recheckInterval)
                guard let self, !Task.isCancelled else { return }
                await recheckForeign()
                wakeUp()
            }
        }
        lock.withLock { tasks += [loop, ticker] }
        wakeUp()
    }

    /// The mirrored routes, their listeners or the links changed: reconcile soon.
    public func poke() {
        lock.withLock { generation += 1 }
        wakeUp()
    }

    func wakeUp() {
        wakeContinuation.yield()
    }

    var isStopped: Bool { lock.withLock { stopped } }

    /// Stops writing, releases the Lease (another replica takes over at once), stops the
    /// informer and shuts the client down.
    public func stop() async {
        let running = lock.withLock {
            stopped = true
            let t = tasks + (retry.map { [$0] } ?? [])
            tasks = []
            retry = nil
            return t
        }
        wakeContinuation.finish()
        for t in running { t.cancel() }
        for t in running { await t.value }
        await elector.release()
        await informer.shutdown()
        await client.shutdown()
        await leaseClient.shutdown()
    }

    /// `stop()` for a synchronous caller: blocks until it is done or `timeout` has passed (the
    /// Lease is then left to expire).
    public func stopAndWait(timeout: Duration = .seconds(5)) {
        let done = DispatchSemaphore(value: 0)
        Task.detached { [self] in
            await stop()
            done.signal()
        }
        let ms = Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        if done.wait(timeout: .now() + .milliseconds(ms)) == .timedOut {
            logger.warning("mirror writer: not stopped within \(timeout); the Lease expires on its own")
        }
    }

    /// Whether this replica holds the Lease.
    public var isLeader: Bool { elector.isLeader }

    /// What `/status` shows (`GatewayStatus.mirrorServices`).
    public var status: MirrorServicesStatus {
        let lease = elector.status
        return lock.withLock {
            MirrorServicesStatus(
                leader: lease.leading, holder: lease.holder, leaseTransitions: lease.transitions, desired: desiredCount,
                written: cache.values.filter { KubernetesNames.isOwned(labels: $0.metadata.labels) }.count, writes: writes,
                conflicts: conflicts.keys.sorted().map { conflicts[$0]! }, lastError: lastError, pending: pending)
        }
    }

    private func cacheChanged(_ services: [String: KubeService]) {
        lock.withLock {
            cache = services
            listed = true
        }
        observed(services)
        wakeUp()
    }

    private func leadershipChanged(_ leading: Bool) {
        logger.info(
            leading
                ? "mirror writer: this replica holds the Lease and writes the mirrored Services"
                : "mirror writer: this replica no longer holds the Lease (it writes nothing until it holds it again)")
        wakeUp()
    }

    /// The Services as the API server has them, with this replica's writes the informer has not
    /// shown yet.
    private func observedLocked(now: ContinuousClock.Instant) -> [String: KubeService] {
        var out = cache
        for (key, entry) in overlay {
            switch entry {
            case .written(let s, let at):
                if now - at > overlayTimeout || Self.caughtUp(cache[key], with: s) {
                    overlay[key] = nil
                } else {
                    out[key] = s
                }
            case .deleted(let uid, let at):
                if now - at > overlayTimeout || cache[key] == nil || cache[key]?.metadata.uid != uid {
                    overlay[key] = nil
                } else {
                    out[key] = nil
                }
            }
        }
        return out
    }

    /// Whether the cached object is `written` or newer (resourceVersions compared as numbers
    /// when both are, else for equality).
    static func caughtUp(_ cached: KubeService?, with written: KubeService) -> Bool {
        guard let cached, cached.metadata.uid == written.metadata.uid else { return false }
        let a = cached.metadata.resourceVersion ?? ""
        let b = written.metadata.resourceVersion ?? ""
        if let x = UInt64(a), let y = UInt64(b) { return x >= y }
        return a == b
    }

    /// One pass: plan, compare, write (leader only), note conflicts.
    func reconcileOnce() async {
        let started = lock.withLock { generation }
        let now = ContinuousClock.now
        let input = input()
        let plan = MirroredServicePlan.build(routes: input.routes, remote: input.remote, gatewaySelector: gatewaySelector)
        let leading = elector.isLeader
        let actions = lock.withLock {
            foreign = foreign.filter { plan.services[$0.key] != nil }
            let actions = MirroredServiceReconciler.reconcile(
                plan: plan, observed: observedLocked(now: now), foreign: foreign, links: input.links)
            desiredCount = plan.services.count
            pending = leading ? actions.filter(\.isWrite).count : 0
            return actions
        }
        noteConflicts(actions)
        // Before the informer's first list the cache is empty: writing then would try to
        // create what exists.
        guard leading, lock.withLock({ listed }) else { return }
        var failed = false
        for action in actions where action.isWrite {
            guard !isStopped, elector.isLeader else { return }
            if lock.withLock({ generation }) != started {
                wakeUp()  // the input changed: plan again rather than write what may be stale
                return
            }
            let delay = lock.withLock { bucket.reserve() }
            if delay > .zero { try? await Task.sleep(for: delay) }
            guard !isStopped else { return }
            if await perform(action) {
                lock.withLock { pending = max(0, pending - 1) }
            } else {
                failed = true
                break
            }
        }
        if failed {
            scheduleRetry()
        } else {
            lock.withLock { failures = 0 }
        }
    }

    /// Logs conflicts new since the last pass (once each) and those that went away.
    private func noteConflicts(_ actions: [MirroredServiceAction]) {
        var now: [String: MirrorServiceConflict] = [:]
        for case .conflict(let c) in actions { now[c.key] = c }
        let (fresh, gone) = lock.withLock {
            let fresh = now.keys.filter { conflicts[$0] == nil }.sorted().map { now[$0]! }
            let gone = conflicts.keys.filter { now[$0] == nil }.sorted()
            conflicts = now
            return (fresh, gone)
        }
        for c in fresh { logger.warning("mirrored Service \(c.key) refused: \(c.reason)") }
        for key in gone { logger.info("mirrored Service \(key): no longer refused") }
    }

    /// Tries again after a backoff with full jitter (a random delay up to 250 ms, doubling to 30 s).
    private func scheduleRetry() {
        let n = lock.withLock {
            failures += 1
            return failures
        }
        let ceiling = min(30_000, 250 * (1 << min(n - 1, 7)))
        let delay = Duration.milliseconds(Int.random(in: 0...ceiling))
        let t = Task { [weak self] in
            try? await Task.sleep(for: delay)
            self?.wakeUp()
        }
        let old = lock.withLock {
            let old = retry
            retry = stopped ? nil : t
            return old
        }
        old?.cancel()
    }
}
