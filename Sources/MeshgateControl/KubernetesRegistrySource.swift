import Foundation
import Logging
import MeshgateKube

/// The registry as the Kubernetes API server has it (`registry.kubernetes`): list+watch of
/// Services, EndpointSlices and (when enabled and served) ServiceExports per watched namespace
/// (or all), each through a `KubeInformer`; on any change the registry is rebuilt
/// (`KubernetesRegistry.build`, coalesced) and handed to `onChange` when it differs.
///
/// Nothing is handed over before every watch has listed once (a partial view would publish
/// exported Services without their endpoints). While the API server is unreachable the
/// informers keep their caches and the last registry stays in force.
public final class KubernetesRegistrySource: @unchecked Sendable {
    /// The API server's URL.
    public let server: String
    let settings: KubernetesRegistrySettings
    let client: KubeClient
    private let logger: Logger
    private let onChange: @Sendable (Registry) -> Void
    private let coalesce: Duration
    private let queue = DispatchQueue(label: "meshgate.kubernetes-registry")

    // Invariant: everything below is read and written with `lock` held.
    private let lock = NSLock()
    private var informers: [any RegistryInformer] = []
    private var services: [Int: [String: KubeService]] = [:]
    private var slices: [Int: [String: KubeEndpointSlice]] = [:]
    private var exports: [Int: [String: KubeServiceExport]] = [:]
    /// nil until the ServiceExports question is settled: true = watched, false = not served
    /// (no CRD) or disabled.
    private var exportsWatched: Bool?
    private var exportsProbeError: (message: String, at: Date)?
    private var rebuildPending = false
    private var current: Registry?
    private var skipped = Set<KubernetesRegistry.Skipped>()
    private var started: Date?
    private var stopped = false
    private var probeTask: Task<Void, Never>?

    /// Reads the client configuration (service account or kubeconfig) and makes the client;
    /// `start()` begins watching.
    public init(
        settings: KubernetesRegistrySettings, logger: Logger, coalesce: Duration = .milliseconds(20),
        onChange: @escaping @Sendable (Registry) -> Void
    ) throws(KubeConfigError) {
        let config = try settings.api.clientConfig()
        self.server = config.server
        self.settings = settings
        self.client = KubeClient(config: config, logger: logger)
        self.logger = logger
        self.coalesce = coalesce
        self.onChange = onChange
    }

    /// The namespaces watched, nil standing for all.
    private var scopes: [String?] { settings.namespaces.isEmpty ? [nil] : settings.namespaces.map { Optional($0) } }

    /// Starts the Service and EndpointSlice watches, and settles whether ServiceExports are
    /// served (a 404 means no CRD: asked again every minute).
    public func start() {
        lock.lock()
        started = Date()
        // Only the label exports when ServiceExports are off: the server filters.
        let serviceSelector = settings.serviceExports ? nil : settings.exportSelector
        var list: [any RegistryInformer] = []
        for (index, namespace) in scopes.enumerated() {
            list.append(informer(of: \.services, scope: index, namespace: namespace, labelSelector: serviceSelector))
            list.append(informer(of: \.slices, scope: index, namespace: namespace))
        }
        informers = list
        if !settings.serviceExports { exportsWatched = false }
        lock.unlock()
        for i in list { i.start() }
        if settings.serviceExports {
            let task = Task { [weak self] () async -> Void in await self?.settleServiceExports() }
            lock.withLock { probeTask = task }
        }
    }

    /// Stops every watch and closes the client.
    public func stop() {
        lock.lock()
        stopped = true
        let list = informers
        informers = []
        let task = probeTask
        lock.unlock()
        task?.cancel()
        for i in list { i.stop() }
        client.syncShutdown()
    }

    /// Lists ServiceExports once (with backoff on transport errors) to learn whether they are
    /// served and readable; starts their watches when they are, asks again every minute when
    /// not (404: no CRD; 403: the account may not read them).
    private func settleServiceExports() async {
        var delay: Duration = .seconds(1)
        var told = false
        while !Task.isCancelled {
            do {
                _ = try await client.list(KubeServiceExport.self, namespace: scopes[0], labelSelector: nil)
                startExportWatches()
                return
            } catch {
                let unavailable = error.isNotFound || error.code == 403
                let why = error.isNotFound ? "not served (no multicluster.x-k8s.io CRD)" : "not readable (\(error))"
                lock.withLock {
                    // Not an error of the registry: logged once; export by label goes on.
                    exportsProbeError = unavailable ? nil : ("listing ServiceExports: \(error)", Date())
                    if unavailable, exportsWatched == nil { exportsWatched = false }
                }
                if unavailable {
                    if !told {
                        logger.warning("registry: ServiceExports (multicluster.x-k8s.io/v1alpha1) are \(why) at \(server); Services export by label only (asking again every minute)")
                        told = true
                    }
                    scheduleRebuild()
                    try? await Task.sleep(for: .seconds(60))
                } else {
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(30))
                }
            }
        }
    }

    private func startExportWatches() {
        lock.lock()
        guard !stopped else { return lock.unlock() }
        var list: [any RegistryInformer] = []
        for (index, namespace) in scopes.enumerated() {
            list.append(informer(of: \.exports, scope: index, namespace: namespace))
        }
        informers += list
        exportsWatched = true
        exportsProbeError = nil
        lock.unlock()
        for i in list { i.start() }
    }

    /// An informer of one resource type in one scope (the `scope`-th entry of `scopes`, in
    /// `namespace`); each cache it hands over replaces `caches[scope]` and schedules a rebuild.
    private func informer<T: KubeResource>(
        of caches: ReferenceWritableKeyPath<KubernetesRegistrySource, [Int: [String: T]]>, scope: Int, namespace: String?,
        labelSelector: KubeLabelSelector? = nil
    ) -> any RegistryInformer {
        KubeInformer<T>(
            client: client, namespace: namespace, labelSelector: labelSelector, logger: logger,
            onChange: { [weak self] cache in self?.update { $0[keyPath: caches][scope] = cache } })
    }

    /// Applies a cache change and schedules a rebuild.
    private func update(_ change: (KubernetesRegistrySource) -> Void) {
        lock.lock()
        change(self)
        lock.unlock()
        scheduleRebuild()
    }

    private func scheduleRebuild() {
        lock.lock()
        defer { lock.unlock() }
        guard !rebuildPending, !stopped else { return }
        rebuildPending = true
        let c = coalesce.components
        let delay = DispatchTimeInterval.nanoseconds(Int(c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000))
        queue.asyncAfter(deadline: .now() + delay) { [weak self] in self?.rebuild() }
    }

    /// Builds the registry from the caches once every watch has listed; hands it over when it changed.
    private func rebuild() {
        lock.lock()
        rebuildPending = false
        guard !stopped, syncedLocked else { return lock.unlock() }
        let built = KubernetesRegistry.build(
            services: services.values.flatMap(\.values), slices: slices.values.flatMap(\.values),
            exports: exportsWatched == true ? exports.values.flatMap(\.values) : [], settings: settings)
        let fresh = Set(built.skipped).subtracting(skipped)
        skipped = Set(built.skipped)
        let changed = built.registry != current
        let first = current == nil
        if changed { current = built.registry }
        lock.unlock()
        // One line per left-out Service while it stays left out (not at every rebuild).
        for s in fresh.sorted(by: { $0.description < $1.description }) { logger.warning("\(s)") }
        guard changed else { return }
        if first {
            logger.info("registry: first sync from \(server): \(built.registry.services.count) exported service(s)")
        }
        onChange(built.registry)
    }

    /// Every watch has listed once and the ServiceExports question is settled.
    private var syncedLocked: Bool {
        exportsWatched != nil && informers.allSatisfy(\.status.synced)
    }

    /// The registry last handed over (nil before the first sync).
    public var registry: Registry? { lock.withLock { current } }

    /// Whether a first registry has been handed over.
    public var hasSynced: Bool { registry != nil }

    /// When `start()` ran.
    public var startedAt: Date? { lock.withLock { started } }

    /// `/status` `registry`: the oldest of the watches' last syncs, the newest error, summed
    /// re-lists and watch restarts; the sync age is computed at `now`.
    public func status(now: Date = Date()) -> RegistrySourceStatus {
        lock.lock()
        let statuses = informers.map(\.status)
        let synced = current != nil && syncedLocked
        let count = current?.services.count ?? 0
        let probeError = exportsProbeError
        lock.unlock()
        var lastSync: Date? = statuses.isEmpty ? nil : statuses.compactMap(\.lastSync).min()
        if statuses.contains(where: { $0.lastSync == nil }) { lastSync = nil }
        var errors = statuses.compactMap { s in s.lastError.map { (message: $0, at: s.lastErrorAt ?? .distantPast) } }
        if let probeError { errors.append(probeError) }
        let newest = errors.max { $0.at < $1.at }
        return RegistrySourceStatus(
            source: "kubernetes", server: server, synced: synced, lastSync: lastSync, lastError: newest?.message,
            lastErrorAt: newest?.at, relists: statuses.reduce(0) { $0 + $1.relists },
            watchRestarts: statuses.reduce(0) { $0 + $1.watchRestarts }, services: count
        ).aged(now: now)
    }
}

/// What the source needs of a `KubeInformer` of any resource type.
protocol RegistryInformer: Sendable {
    func start()
    func stop()
    var status: KubeInformerStatus { get }
}

extension KubeInformer: RegistryInformer {}
