import Atomics
import Foundation
import HashTreeCollections
import MeshgateLoop

#if canImport(Glibc)
    import Glibc
#endif

/// What one publish did.
public struct PublishReport: Sendable {
    /// The generation now current.
    public let generation: UInt64
    /// Where each route this publish added or changed listens, by route key (a full
    /// `publish` reports every route).
    public let listening: [String: SocketAddress]
    /// Routes left out because no listener could be opened for them (or given twice), with
    /// the reason. Such a route is kept waiting and tried again (`retryWaiting`).
    public let failed: [String: String]
    /// Routes that had been waiting for a port and now listen (also in `listening`).
    public var recovered: [String] = []
}

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
    private var fixedPorts = Set<UInt16>()
    /// Which range port each route gets.
    private var ports: PortAllocator
    /// Routes that got no listener, by key, tried again later.
    private var waiting: [String: GatewayRoute] = [:]
    /// Listeners of withdrawn range routes that may still be open (loops let go of them
    /// soon), by route key: a route that returns before they close takes its socket back.
    private var closing: [String: WeakListener] = [:]
    /// The allocator changed since the state file was last written.
    private var dirty = false
    private let clock: @Sendable () -> Date
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

    /// A loop reports the generation it now runs with.
    func loopApplied(_ loop: Int, generation: UInt64) {
        if loop < applied.count { applied[loop].store(generation, ordering: .releasing) }
    }

    /// The lowest generation any loop runs with.
    public var appliedByAllLoops: UInt64 {
        var lowest = UInt64.max
        for a in applied { lowest = min(lowest, a.load(ordering: .acquiring)) }
        return lowest
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

    /// Wakes every `waitForSnapshot` caller now (they return the current snapshot).
    public func wakeWaiters() {
        published.lock()
        published.broadcast()
        published.unlock()
    }

    /// Waits until the current generation is past `generation` or `timeout` has passed, and
    /// returns the current snapshot (control-side readers, such as a discover stream; never a loop).
    public func waitForSnapshot(after generation: UInt64, timeout: Duration) -> GatewaySnapshot {
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        published.lock()
        if current.load(ordering: .acquiring).generation == generation {
            // One wait: a wake-up without a new generation (wakeWaiters) returns too.
            _ = published.wait(until: deadline)
        }
        published.unlock()
        return snapshot
    }

    private struct Applied {
        var generation: UInt64 = 0
        var listening: [String: SocketAddress] = [:]
        var failed: [String: String] = [:]
        var recovered: [String] = []
    }

    /// Builds and swaps in the next snapshot (lock held). Routes waiting for a listener are
    /// tried after `upserting`; their failures are not reported again. With `onlyIfChanged`,
    /// nothing is published (nil) when no route changed.
    private func apply(
        _ previous: GatewaySnapshot, upserting: [GatewayRoute], removing: [String],
        services: TreeDictionary<String, ExportedService>?, credentials: GatewayCredentials?, reportAll: Bool,
        onlyIfChanged: Bool = false, shuttingDown: Bool = false
    ) -> Applied? {
        let now = clock()
        ports.expire(now: now)
        var result = Applied()
        var routes = previous.routes
        var upserted: [PublishedRoute] = []
        var removedKeys: [String] = []
        /// Listeners of removed routes; one may pass to a route naming its address (a fixed
        /// address, or a pinned port).
        var released: [RouteListener] = []
        func drop(_ entry: PublishedRoute, key: String, withdrawn: Bool) {
            removedKeys.append(key)
            released.append(entry.listener)
            guard withdrawn, !entry.listener.fixed, !shuttingDown else { return }
            ports.release(key, now: now)
            closing[key] = WeakListener(entry.listener)
            dirty = true
        }
        func takeReleased(_ address: SocketAddress, fixed: Bool) -> RouteListener? {
            guard let i = released.firstIndex(where: { $0.fixed == fixed && $0.address == address }) else { return nil }
            return released.remove(at: i)
        }
        if !closing.isEmpty { closing = closing.filter { $0.value.listener != nil } }
        for key in removing {
            waiting.removeValue(forKey: key)
            if let old = routes.removeValue(forKey: key) { drop(old, key: key, withdrawn: true) }
        }
        // Fixed addresses first, so a range port never takes one a route names; then pinned
        // routes; then the rest in key order, so that a batch is allocated the same way whatever
        // order it came in.
        for route in upserting {
            waiting.removeValue(forKey: route.key)
            if let fixed = route.fixedListen { fixedPorts.insert(fixed.port) }
        }
        var retried = Set<String>()
        var order = upserting
        for (key, route) in waiting where !retried.contains(key) {
            retried.insert(key)
            order.append(route)
        }
        waiting.removeAll(keepingCapacity: true)
        order.sort { a, b in
            let ra = a.fixedListen != nil ? 0 : (ports.pins[a.key] != nil ? 1 : 2)
            let rb = b.fixedListen != nil ? 0 : (ports.pins[b.key] != nil ? 1 : 2)
            return ra != rb ? ra < rb : a.key < b.key
        }
        // A route on a port now pinned to another route moves off it first, so the pinned one
        // can take the socket.
        if !ports.pins.isEmpty {
            for route in order where route.fixedListen == nil && ports.isMisplaced(route.key) {
                if let old = routes.removeValue(forKey: route.key) { drop(old, key: route.key, withdrawn: false) }
            }
        }
        var allocation = AllocationPass()
        for route in order {
            let isRetry = retried.contains(route.key)
            let old = routes[route.key]
            if let old, old.route === route || old.route.sameAs(route) {
                if reportAll { result.listening[route.key] = old.listener.address }
                continue
            }
            let listener: RouteListener
            if let old, fits(old.listener, route) {
                listener = old.listener
            } else if let fixed = route.fixedListen, let handed = takeReleased(fixed, fixed: true) {
                // A renamed route keeps its address: the socket passes on, never closed.
                listener = handed
                if let old {
                    routes.removeValue(forKey: route.key)
                    drop(old, key: route.key, withdrawn: false)
                }
            } else {
                var reason = ""
                guard
                    let opened = openListener(
                        for: route, now: now, pass: &allocation, handover: { takeReleased($0, fixed: false) }, failure: &reason)
                else {
                    // Waits; a changed route whose new listener cannot be opened keeps serving
                    // as it was meanwhile.
                    waiting[route.key] = route
                    if !isRetry { result.failed[route.key] = reason }
                    continue
                }
                listener = opened
                if let old, old.listener !== opened {
                    routes.removeValue(forKey: route.key)
                    drop(old, key: route.key, withdrawn: false)
                }
            }
            if listener.fixed {
                // From the range to a fixed address: the range port is let go of.
                if ports.assignments[route.key]?.releasedAt == nil && ports.assignments[route.key] != nil {
                    ports.release(route.key, now: now)
                    dirty = true
                }
            } else {
                if ports.assignments[route.key].map({ $0.port != listener.address.port || $0.releasedAt != nil }) ?? true {
                    ports.assign(route.key, port: listener.address.port)
                    dirty = true
                }
                closing.removeValue(forKey: route.key)
            }
            let entry = PublishedRoute(route: route, listener: listener)
            routes[route.key] = entry
            upserted.append(entry)
            result.listening[route.key] = listener.address
            if isRetry { result.recovered.append(route.key) }
        }
        if onlyIfChanged && upserted.isEmpty && removedKeys.isEmpty { return nil }
        if reportAll {
            for (key, entry) in routes where result.listening[key] == nil { result.listening[key] = entry.listener.address }
        }
        for l in released where l.fixed { fixedPorts.remove(l.address.port) }
        let removedListeners = released.map { ObjectIdentifier($0) }
        let next = GatewaySnapshot(
            generation: previous.generation &+ 1, routes: routes, services: services ?? previous.services,
            credentials: credentials ?? previous.credentials,
            delta: RouteTableDelta(
                upserted: upserted, removedKeys: removedKeys, removedListeners: removedListeners,
                servicesChanged: services != nil || credentials != nil))
        current.store(next, ordering: .releasing)
        result.generation = next.generation
        return result
    }

    /// Whether an open listener still serves `route` (same fixed address, or both from the
    /// range and the port still the route's to keep).
    private func fits(_ listener: RouteListener, _ route: GatewayRoute) -> Bool {
        if let fixed = route.fixedListen { return listener.fixed && listener.address == fixed }
        return !listener.fixed && !ports.isMisplaced(route.key)
    }

    /// What one publish learned about range ports: ports it could not bind, and that the range
    /// is full (so later routes fail at once instead of scanning it again).
    private struct AllocationPass {
        var unbindable = Set<UInt16>()
        var full = false
    }

    private func openListener(
        for route: GatewayRoute, now: Date, pass: inout AllocationPass, handover: (SocketAddress) -> RouteListener?,
        failure: inout String
    ) -> RouteListener? {
        if let fixed = route.fixedListen {
            do {
                let fd = try Socket.listen(on: fixed, reusePort: false)
                fixedPorts.insert(fixed.port)
                return RouteListener(fd: fd, address: (try? Socket.localAddress(fd)) ?? fixed, fixed: true)
            } catch {
                failure = "cannot listen on \(fixed): \(error)"
                return nil
            }
        }
        let key = route.key
        let pinned = ports.pins[key]
        let noPort = "no free port in \(portRange.lowerBound)-\(portRange.upperBound) on \(bindAddress.host)"
        if pinned == nil && pass.full {
            failure = noPort
            return nil
        }
        var excluding = pass.unbindable.union(fixedPorts)
        if let pinned { excluding.remove(pinned) }
        // Bounded: each failed bind excludes one more port.
        for _ in 0...(portRange.count + 1) {
            guard let port = ports.port(for: key, now: now, excluding: excluding) else {
                if let pinned {
                    failure =
                        "cannot listen on pinned port \(bindAddress.withPort(pinned)): \(pass.unbindable.contains(pinned) ? "in use" : "taken")"
                } else {
                    pass.full = true
                    failure = noPort
                }
                return nil
            }
            // Its own listener, withdrawn a moment ago and not closed yet: take it back.
            if let own = closing[key]?.listener, own.address.port == port { return own }
            let address = bindAddress.withPort(port)
            if pinned != nil, let handed = handover(address) { return handed }
            do {
                let fd = try Socket.listen(on: address, reusePort: false)
                return RouteListener(fd: fd, address: address, fixed: false)
            } catch {
                // Its own port, released a moment ago, may still be closing: wait for it
                // rather than move.
                if let a = ports.assignments[key], a.port == port, let released = a.releasedAt, now.timeIntervalSince(released) < 5 {
                    failure = "port \(port) is still closing; tried again shortly"
                    return nil
                }
                if pinned != nil {
                    pass.unbindable.insert(port)
                    failure = "cannot listen on pinned port \(address): \(error)"
                    return nil
                }
                pass.unbindable.insert(port)
                excluding.insert(port)
            }
        }
        failure = noPort
        return nil
    }
}

/// A weak reference to a listener (the publisher must not keep a withdrawn route's port open).
private struct WeakListener {
    weak var listener: RouteListener?
    init(_ listener: RouteListener) { self.listener = listener }
}
