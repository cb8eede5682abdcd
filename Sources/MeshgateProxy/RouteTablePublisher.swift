import Atomics
import Foundation
import HashTreeCollections
import MeshgateLoop

#if canImport(Glibc)
    import Glibc
#endif

/// The in-memory channel from the control side to the loops: builds `GatewaySnapshot`
/// values, opens and keeps the outbound route listeners, swaps the current snapshot
/// atomically and wakes every loop. Loops never wait on it.
///
/// Two ways in: `publish` takes a whole table (a config reload) and works out what changed;
/// `update` takes the change itself (the mirror). Either way the snapshot shares unchanged
/// entries with the previous one and carries the change, so a loop applies it in time
/// proportional to the change.
///
/// Ports are stable: a route keeps its listener (and port) for as long as it exists with the
/// same fixed address (or none). A removed route's listener closes once no loop accepts on it
/// any more and no snapshot lists it. Which range port a route gets is the `PortAllocator`'s
/// choice (a function of the route key, its memory of released ports and the pins); this
/// class only binds. A route that gets no listener waits and is tried again on every later
/// change and on `retryWaiting()`.
public final class RouteTablePublisher: @unchecked Sendable {
    /// The current snapshot (any thread may load it).
    let current: ManagedAtomic<GatewaySnapshot>
    /// Address outbound listeners bind (port ignored).
    public let bindAddress: SocketAddress
    /// Ports for routes without a fixed address.
    public let portRange: ClosedRange<UInt16>

    /// Serializes publishers; everything below is guarded by it.
    private let lock = NSLock()
    /// Ports of fixed-address listeners (kept out of range allocation).
    var fixedPorts = Set<UInt16>()
    /// Which range port each route gets.
    var ports: PortAllocator
    /// Routes that got no listener, by key, tried again later.
    var waiting: [String: GatewayRoute] = [:]
    /// Listeners of withdrawn range routes that may still be open (loops let go of them
    /// soon), by route key: a route that returns before they close takes its socket back.
    var closing: [String: WeakListener] = [:]
    /// The allocator changed since the state file was last written.
    var dirty = false
    let clock: @Sendable () -> Date
    private let stateFile: PortStateFile?
    /// Serializes state-file writes (outside `lock`, so loops' publishers never wait on disk).
    private let saveLock = NSLock()
    /// Guarded by `saveLock`: the last write problem reported (reported once until it changes).
    private var lastSaveProblem: String?
    private let problem: @Sendable (String) -> Void
    private var wakers: [@Sendable () -> Void] = []
    /// Signalled after every publish, for `waitForSnapshot`.
    private let published = NSCondition()
    /// Generation each loop has applied, by loop index.
    private let applied: [ManagedAtomic<UInt64>]
    /// Signalled when a loop applies a generation while someone waits (`waitUntilApplied`).
    private let appliedSignal = NSCondition()
    /// Callers in `waitUntilApplied`: a loop takes `appliedSignal`'s lock only when there are any.
    private let appliedWaiters = ManagedAtomic<Int>(0)

    /// A publisher for `loops` loops whose first snapshot has no routes or services.
    ///
    /// - `pins`: route key → port, always used for that key and never for another.
    /// - `holdOff`: how long a withdrawn route's port stays reserved for it.
    /// - `stateFile`: where the allocator's memory survives restarts (read now; a file that
    ///   cannot be read is reported through `problem` and ignored).
    /// - `clock`: the wall clock (tests inject one).
    public init(
        bindAddress: SocketAddress, portRange: ClosedRange<UInt16>, credentials: GatewayCredentials, loops: Int,
        pins: [String: UInt16] = [:], holdOff: Duration = .seconds(600), stateFile: PortStateFile? = nil,
        clock: @escaping @Sendable () -> Date = { Date() }, problem: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.bindAddress = bindAddress
        self.portRange = portRange
        self.clock = clock
        self.stateFile = stateFile
        self.problem = problem
        var allocator = PortAllocator(range: portRange, holdOff: holdOff, pins: pins)
        if let stateFile {
            do {
                if let saved = try stateFile.load() { allocator.restore(saved, now: clock()) }
            } catch {
                problem("\(error.description) (ignored: ports are chosen afresh)")
            }
        }
        ports = allocator
        current = ManagedAtomic(GatewaySnapshot(generation: 0, routes: [:], services: [:], credentials: credentials, delta: nil))
        applied = (0..<max(loops, 1)).map { _ in ManagedAtomic<UInt64>(0) }
    }

    /// The snapshot loops see now.
    public var snapshot: GatewaySnapshot { current.load(ordering: .acquiring) }

    /// Registers how to wake a loop (the server does this once per loop).
    func addWaker(_ wake: @escaping @Sendable () -> Void) {
        lock.lock()
        wakers.append(wake)
        lock.unlock()
    }

    /// A loop reports the generation it now runs with (and wakes `waitUntilApplied` callers).
    func loopApplied(_ loop: Int, generation: UInt64) {
        guard loop < applied.count else { return }
        // Sequentially consistent with `waitUntilApplied`'s count and check: either the waiter
        // sees this generation, or this sees the waiter and signals it.
        applied[loop].store(generation, ordering: .sequentiallyConsistent)
        guard appliedWaiters.load(ordering: .sequentiallyConsistent) > 0 else { return }
        appliedSignal.lock()
        appliedSignal.broadcast()
        appliedSignal.unlock()
    }

    /// The lowest generation any loop runs with.
    public var appliedByAllLoops: UInt64 {
        var lowest = UInt64.max
        for a in applied { lowest = min(lowest, a.load(ordering: .sequentiallyConsistent)) }
        return lowest
    }

    /// Waits until every loop runs with `generation` or a later one (`appliedByAllLoops`), or
    /// until `timeout` has passed, and says whether they do. One wait, like `waitForSnapshot`: a
    /// loop applying (while another still lags) and `wakeWaiters` return early too, so callers
    /// wait again as long as they mean to (control-side readers only; never a loop).
    public func waitUntilApplied(_ generation: UInt64, timeout: Duration) -> Bool {
        if appliedByAllLoops >= generation { return true }
        appliedWaiters.wrappingIncrement(ordering: .sequentiallyConsistent)
        defer { appliedWaiters.wrappingDecrement(ordering: .sequentiallyConsistent) }
        appliedSignal.lock()
        defer { appliedSignal.unlock() }
        guard appliedByAllLoops < generation else { return true }
        _ = appliedSignal.wait(until: Self.deadline(after: timeout))
        return appliedByAllLoops >= generation
    }

    /// Publishes a whole table: routes not in `routes` are removed, unchanged ones are left
    /// alone, services and credentials are replaced. Routes whose listener cannot be opened
    /// are left out, reported, and kept waiting for a port.
    @discardableResult
    public func publish(routes: [GatewayRoute], services: [ExportedService], credentials: GatewayCredentials? = nil) -> PublishReport {
        lock.lock()
        let previous = current.load(ordering: .acquiring)
        var keys = Set<String>(minimumCapacity: routes.count)
        var unique: [GatewayRoute] = []
        unique.reserveCapacity(routes.count)
        var duplicates: [String: String] = [:]
        for r in routes {
            if keys.insert(r.key).inserted { unique.append(r) } else { duplicates[r.key] = "duplicate route key" }
        }
        var removals: [String] = []
        for key in previous.routes.keys where !keys.contains(key) { removals.append(key) }
        for key in waiting.keys where !keys.contains(key) { removals.append(key) }
        var servicesByKey = TreeDictionary<String, ExportedService>()
        for s in services { servicesByKey[s.key] = s }
        let result = apply(
            previous, upserting: unique, removing: removals, services: servicesByKey, credentials: credentials, reportAll: true)!
        lock.unlock()
        finish()
        return PublishReport(
            generation: result.generation, listening: result.listening, failed: result.failed.merging(duplicates) { a, _ in a },
            recovered: result.recovered)
    }

    /// Publishes a change: `upserting` routes are added or replace the route with the same
    /// key, `removing` keys are withdrawn; services and credentials change only when given.
    /// Routes waiting for a port are tried again too.
    @discardableResult
    public func update(
        upserting: [GatewayRoute], removing: [String] = [], services: [ExportedService]? = nil, credentials: GatewayCredentials? = nil
    ) -> PublishReport {
        lock.lock()
        let previous = current.load(ordering: .acquiring)
        var servicesByKey: TreeDictionary<String, ExportedService>? = nil
        if let services {
            var map = TreeDictionary<String, ExportedService>()
            for s in services { map[s.key] = s }
            servicesByKey = map
        }
        let result = apply(
            previous, upserting: upserting, removing: removing, services: servicesByKey, credentials: credentials, reportAll: false)!
        lock.unlock()
        finish()
        return PublishReport(generation: result.generation, listening: result.listening, failed: result.failed, recovered: result.recovered)
    }

    /// Routes waiting for a listener (no free port, or an address in use), by key.
    public var waitingRoutes: [String] {
        lock.withLock { waiting.keys.sorted() }
    }

    /// Tries the waiting routes again (call it periodically: ports free up when loops let go
    /// of withdrawn routes' listeners and when hold-offs end). Publishes a new generation only
    /// when one of them got a listener; nil when none did.
    @discardableResult
    public func retryWaiting() -> PublishReport? {
        lock.lock()
        guard !waiting.isEmpty else {
            lock.unlock()
            return nil
        }
        let previous = current.load(ordering: .acquiring)
        let result = apply(
            previous, upserting: [], removing: [], services: nil, credentials: nil, reportAll: false, onlyIfChanged: true)
        lock.unlock()
        guard let result else { return nil }
        finish()
        return PublishReport(generation: result.generation, listening: result.listening, failed: result.failed, recovered: result.recovered)
    }

    /// Changes the pins and the hold-off (a config reload). Takes effect at the next publish,
    /// which moves a route off a port now pinned to another route.
    public func setPortRules(pins: [String: UInt16], holdOff: Duration) {
        lock.lock()
        if pins != ports.pins { ports.setPins(pins) }
        if holdOff != ports.holdOff { ports.setHoldOff(holdOff) }
        lock.unlock()
    }

    /// The port allocator's view now (for status and tests).
    public var portAllocator: PortAllocator {
        lock.withLock { ports }
    }

    /// Shutting down: every route is withdrawn (its listener closes once loops let go);
    /// services and credentials stay for connections still finishing. The routes' ports are
    /// not released in the allocator's memory: stopping is not a withdrawal.
    public func closeRoutes() {
        lock.lock()
        let previous = current.load(ordering: .acquiring)
        _ = apply(
            previous, upserting: [], removing: Array(previous.routes.keys), services: nil, credentials: nil, reportAll: false,
            shuttingDown: true)
        waiting.removeAll()
        lock.unlock()
        wake()
    }

    /// After a change: wake the loops, then write the state file if the allocator changed.
    private func finish() {
        wake()
        persist()
    }

    /// Writes the allocator's memory to the state file when it changed (outside `lock`).
    private func persist() {
        guard let stateFile else { return }
        saveLock.lock()
        defer { saveLock.unlock() }
        lock.lock()
        guard dirty else {
            lock.unlock()
            return
        }
        dirty = false
        let state = ports.state
        lock.unlock()
        do {
            try stateFile.save(state)
            lastSaveProblem = nil
        } catch {
            lock.withLock { dirty = true }
            if lastSaveProblem != error.description {
                lastSaveProblem = error.description
                problem("\(error.description) (route ports are kept in memory; writing is tried again at the next change)")
            }
        }
    }

    private func wake() {
        lock.lock()
        let w = wakers
        lock.unlock()
        for wake in w { wake() }
        published.lock()
        published.broadcast()
        published.unlock()
    }

    /// Wakes every `waitForSnapshot` and `waitUntilApplied` caller now (they return at once).
    public func wakeWaiters() {
        published.lock()
        published.broadcast()
        published.unlock()
        appliedSignal.lock()
        appliedSignal.broadcast()
        appliedSignal.unlock()
    }

    /// Waits until the current generation is past `generation` or `timeout` has passed, and
    /// returns the current snapshot (control-side readers, such as a discover stream; never a loop).
    /// The snapshot may be one the loops do not run yet: see `waitUntilApplied`.
    public func waitForSnapshot(after generation: UInt64, timeout: Duration) -> GatewaySnapshot {
        let deadline = Self.deadline(after: timeout)
        published.lock()
        if current.load(ordering: .acquiring).generation == generation {
            // One wait: a wake-up without a new generation (wakeWaiters) returns too.
            _ = published.wait(until: deadline)
        }
        published.unlock()
        return snapshot
    }

    /// The wall-clock time `timeout` from now (what `NSCondition.wait(until:)` takes).
    private static func deadline(after timeout: Duration) -> Date {
        Date().addingTimeInterval(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
    }
}

/// A weak reference to a listener (the publisher must not keep a withdrawn route's port open).
struct WeakListener {
    weak var listener: RouteListener?
    init(_ listener: RouteListener) { self.listener = listener }
}
