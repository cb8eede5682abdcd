import Foundation
import Logging
import NIOConcurrencyHelpers

/// List, then watch, keeping a cache of every object (client-go's reflector and store, small).
///
/// - After the first list and each re-list, and after watch events (coalesced: at most one call
///   per `coalesce`), `onChange` gets the whole cache keyed "namespace/name". Calls are serial.
/// - A watch that ends (its `timeoutSeconds`, EOF) is started again from the last resourceVersion
///   (bookmarks advance it). 410 Gone (from the watch or its ERROR event) re-lists.
/// - Transport and server errors: a wait with full-jitter backoff (reset by any success), then the
///   same step again (the watch from the last resourceVersion, or the list).
///   While the server is unreachable the cache is kept as it was.
/// - ``stop()`` cancels at once and returns; no `onChange` call starts after it returned.
///   ``shutdown()`` also waits until the tasks have ended.
public final class KubeInformer<T: KubeResource>: Sendable {
    private struct State {
        var cache: [String: T] = [:]
        var status = KubeInformerStatus()
        var task: Task<Void, Never>?
        var notifier: Task<Void, Never>?
        var signal: AsyncStream<Void>.Continuation?
        var stopped = false
    }

    private let client: KubeClient
    private let namespace: String?
    private let labelSelector: KubeLabelSelector?
    private let logger: Logger
    private let watchTimeout: Duration
    private let backoff: KubeBackoff
    private let coalesce: Duration
    private let onChange: @Sendable ([String: T]) -> Void
    private let state = NIOLockedValueBox(State())

    /// An informer of `T` objects in `namespace` (nil: all) matching `labelSelector`.
    public init(
        client: KubeClient, namespace: String?, labelSelector: KubeLabelSelector?, logger: Logger,
        watchTimeout: Duration = .seconds(300),
        backoff: KubeBackoff = .init(initial: .milliseconds(250), max: .seconds(5)),
        coalesce: Duration = .milliseconds(20),
        onChange: @escaping @Sendable ([String: T]) -> Void
    ) {
        self.client = client
        self.namespace = namespace
        self.labelSelector = labelSelector
        self.logger = logger
        self.watchTimeout = watchTimeout
        self.backoff = backoff
        self.coalesce = coalesce
        self.onChange = onChange
    }

    /// Starts listing and watching (once; later calls do nothing).
    public func start() {
        state.withLockedValue { s in
            guard s.task == nil, !s.stopped else { return }
            let (signals, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            s.signal = continuation
            s.notifier = Task { [self] in await self.notify(signals) }
            s.task = Task { [self] in await self.run() }
        }
    }

    /// Stops: cancels the list/watch and the notifications; returns at once.
    public func stop() {
        state.withLockedValue { s in
            s.stopped = true
            s.task?.cancel()
            s.notifier?.cancel()
            s.signal?.finish()
        }
    }

    /// ``stop()``, then waits until the informer's tasks have ended.
    public func shutdown() async {
        stop()
        let (task, notifier) = state.withLockedValue { ($0.task, $0.notifier) }
        await task?.value
        await notifier?.value
    }

    /// What the informer has done so far.
    public var status: KubeInformerStatus { state.withLockedValue { $0.status } }

    /// The cache now, keyed "namespace/name".
    public var cache: [String: T] { state.withLockedValue { $0.cache } }

    // MARK: - The loop

    private func run() async {
        var needList = true
        var listedOnce = false
        var failures = 0
        let timeoutSeconds = Swift.max(1, Int(watchTimeout.components.seconds))
        while !Task.isCancelled {
            if needList {
                do {
                    let list = try await client.list(T.self, namespace: namespace, labelSelector: labelSelector)
                    var cache: [String: T] = [:]
                    for item in list.items { cache[item.metadata.key] = item }
                    state.withLockedValue { s in
                        s.cache = cache
                        s.status.synced = true
                        s.status.lastSync = Date()
                        s.status.resourceVersion = list.resourceVersion
                        if listedOnce { s.status.relists += 1 }
                    }
                    listedOnce = true
                    needList = false
                    failures = 0
                    signalChange()
                } catch {
                    if Task.isCancelled { return }
                    record(error, "list")
                    await sleep(backoff.delay(attempt: failures))
                    failures += 1
                    continue
                }
            }
            let started = ContinuousClock.now
            var sawEvent = false
            do {
                let rv = state.withLockedValue { $0.status.resourceVersion }
                let events = client.watch(
                    T.self, namespace: namespace, labelSelector: labelSelector, resourceVersion: rv,
                    timeoutSeconds: timeoutSeconds)
                for try await event in events {
                    apply(event)
                    sawEvent = true
                    failures = 0
                }
                if Task.isCancelled { return }
                state.withLockedValue { $0.status.watchRestarts += 1 }
                if !sawEvent, ContinuousClock.now - started < .seconds(1) {
                    // A watch that ends at once without events: do not spin.
                    await sleep(backoff.delay(attempt: failures))
                    failures += 1
                }
            } catch {
                if Task.isCancelled { return }
                let kubeError = error as? KubeError
                state.withLockedValue { $0.status.watchRestarts += 1 }
                if kubeError?.isGone == true {
                    logger.info("watch: resourceVersion expired (410): listing again", metadata: ["kind": "\(T.kind.plural)"])
                    state.withLockedValue { $0.status.goneRelists += 1 }
                    needList = true
                    continue
                }
                record(error, "watch")
                await sleep(backoff.delay(attempt: failures))
                failures += 1
            }
        }
    }

    private func apply(_ event: KubeWatchEvent<T>) {
        state.withLockedValue { s in
            switch event {
            case .added(let object), .modified(let object):
                s.cache[object.metadata.key] = object
            case .deleted(let object):
                s.cache.removeValue(forKey: object.metadata.key)
            case .bookmark:
                break
            }
            if let rv = event.resourceVersion, !rv.isEmpty { s.status.resourceVersion = rv }
            s.status.lastSync = Date()
        }
        if case .bookmark = event { return }
        signalChange()
    }

    private func record(_ error: any Error, _ what: String) {
        let text = "\(what) \(T.kind.plural): \(error)"
        let first = state.withLockedValue { s in
            let first = s.status.lastError != text
            s.status.lastError = text
            s.status.lastErrorAt = Date()
            return first
        }
        if first { logger.warning("\(text)") } else { logger.debug("\(text)") }
    }

    private func signalChange() {
        _ = state.withLockedValue { $0.signal?.yield(()) }
    }

    /// Calls `onChange` serially with the latest cache, at most once per `coalesce`.
    private func notify(_ signals: AsyncStream<Void>) async {
        for await _ in signals {
            let snapshot: [String: T]? = state.withLockedValue { $0.stopped ? nil : $0.cache }
            guard let snapshot else { return }
            onChange(snapshot)
            if coalesce > .zero { try? await Task.sleep(for: coalesce) }
        }
    }

    private func sleep(_ delay: Duration) async {
        try? await Task.sleep(for: delay)
    }
}
