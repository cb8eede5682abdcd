#if canImport(Glibc)
import Glibc
#endif
import Atomics
import Foundation
import HashTreeCollections
import MeshgateLoop

/// What one publish did.
public struct PublishReport: Sendable {
    /// The generation now current.
    public let generation: UInt64
    /// Where each route this publish added or changed listens, by route key (a full
    /// `publish` reports every route).
    public let listening: [String: SocketAddress]
    /// Routes left out because no listener could be opened for them (or given twice), with
    /// the reason.
    public let failed: [String: String]
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
/// any more and no snapshot lists it.
public final class RouteTablePublisher: @unchecked Sendable {
    /// The current snapshot (any thread may load it).
    let current: ManagedAtomic<GatewaySnapshot>
    /// Address outbound listeners bind (port ignored).
    public let bindAddress: SocketAddress
    /// Ports for routes without a fixed address.
    public let portRange: ClosedRange<UInt16>

    /// Serializes publishers; everything below is guarded by it.
    private let lock = NSLock()
    /// Ports held by this publisher's listeners.
    private var usedPorts = Set<UInt16>()
    /// Where the next range port search starts (allocation is O(1) amortized, not a scan).
    private var nextPort: UInt16
    private var wakers: [@Sendable () -> Void] = []
    /// Signalled after every publish, for `waitForSnapshot`.
    private let published = NSCondition()
    /// Generation each loop has applied, by loop index.
    private let applied: [ManagedAtomic<UInt64>]

    /// A publisher for `loops` loops whose first snapshot has no routes or services.
    public init(bindAddress: SocketAddress, portRange: ClosedRange<UInt16>, credentials: GatewayCredentials, loops: Int) {
        self.bindAddress = bindAddress
        self.portRange = portRange
        nextPort = portRange.lowerBound
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
    /// are left out and reported.
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
        var servicesByKey = TreeDictionary<String, ExportedService>()
        for s in services { servicesByKey[s.key] = s }
        let result = apply(
            previous, upserting: unique, removing: removals, services: servicesByKey, credentials: credentials, reportAll: true)
        lock.unlock()
        wake()
        return PublishReport(
            generation: result.generation, listening: result.listening, failed: result.failed.merging(duplicates) { a, _ in a })
    }

    /// Publishes a change: `upserting` routes are added or replace the route with the same
    /// key, `removing` keys are withdrawn; services and credentials change only when given.
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
            previous, upserting: upserting, removing: removing, services: servicesByKey, credentials: credentials, reportAll: false)
        lock.unlock()
        wake()
        return PublishReport(generation: result.generation, listening: result.listening, failed: result.failed)
    }

    /// Shutting down: every route is withdrawn (its listener closes once loops let go);
    /// services and credentials stay for connections still finishing.
    public func closeRoutes() {
        lock.lock()
        let previous = current.load(ordering: .acquiring)
        _ = apply(previous, upserting: [], removing: Array(previous.routes.keys), services: nil, credentials: nil, reportAll: false)
        lock.unlock()
        wake()
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
    }

    /// Builds and swaps in the next snapshot (lock held).
    private func apply(
        _ previous: GatewaySnapshot, upserting: [GatewayRoute], removing: [String],
        services: TreeDictionary<String, ExportedService>?, credentials: GatewayCredentials?, reportAll: Bool
    ) -> Applied {
        var result = Applied()
        var routes = previous.routes
        var upserted: [PublishedRoute] = []
        var removedKeys: [String] = []
        /// Listeners of removed routes; a fixed one may pass to a route naming its address.
        var released: [RouteListener] = []
        func drop(_ entry: PublishedRoute, key: String) {
            removedKeys.append(key)
            released.append(entry.listener)
        }
        func takeReleased(_ fixed: SocketAddress) -> RouteListener? {
            guard let i = released.firstIndex(where: { $0.fixed && $0.address == fixed }) else { return nil }
            return released.remove(at: i)
        }
        for key in removing {
            if let old = routes.removeValue(forKey: key) { drop(old, key: key) }
        }
        // Fixed addresses first, so a range port never takes one a route names.
        for route in upserting where route.fixedListen != nil { usedPorts.insert(route.fixedListen!.port) }
        let ordered = upserting.filter { $0.fixedListen != nil } + upserting.filter { $0.fixedListen == nil }
        for route in ordered {
            let old = routes[route.key]
            if let old, old.route === route || old.route.sameAs(route) {
                if reportAll { result.listening[route.key] = old.listener.address }
                continue
            }
            let listener: RouteListener
            if let old, Self.fits(old.listener, route) {
                listener = old.listener
            } else if let fixed = route.fixedListen, let handed = takeReleased(fixed) {
                // A renamed route keeps its address: the socket passes on, never closed.
                listener = handed
                if let old {
                    routes.removeValue(forKey: route.key)
                    drop(old, key: route.key)
                }
            } else {
                guard let opened = openListener(for: route, failure: &result.failed) else { continue }
                listener = opened
                if let old {
                    routes.removeValue(forKey: route.key)
                    drop(old, key: route.key)
                }
            }
            let entry = PublishedRoute(route: route, listener: listener)
            routes[route.key] = entry
            upserted.append(entry)
            result.listening[route.key] = listener.address
        }
        if reportAll {
            for (key, entry) in routes where result.listening[key] == nil { result.listening[key] = entry.listener.address }
        }
        for l in released { usedPorts.remove(l.address.port) }
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

    /// Whether an open listener still serves `route` (same fixed address, or both from the range).
    private static func fits(_ listener: RouteListener, _ route: GatewayRoute) -> Bool {
        if let fixed = route.fixedListen { return listener.fixed && listener.address == fixed }
        return !listener.fixed
    }

    private func openListener(for route: GatewayRoute, failure: inout [String: String]) -> RouteListener? {
        if let fixed = route.fixedListen {
            do {
                let fd = try Socket.listen(on: fixed, reusePort: false)
                usedPorts.insert(fixed.port)
                return RouteListener(fd: fd, address: (try? Socket.localAddress(fd)) ?? fixed, fixed: true)
            } catch {
                failure[route.key] = "cannot listen on \(fixed): \(error)"
                return nil
            }
        }
        // Next free port after the last one handed out, wrapping once around the range.
        let count = Int(portRange.upperBound) - Int(portRange.lowerBound) + 1
        var port = nextPort
        for _ in 0..<count {
            let candidate = port
            port = candidate == portRange.upperBound ? portRange.lowerBound : candidate + 1
            guard !usedPorts.contains(candidate) else { continue }
            let address = bindAddress.withPort(candidate)
            guard let fd = try? Socket.listen(on: address, reusePort: false) else { continue }
            usedPorts.insert(candidate)
            nextPort = port
            return RouteListener(fd: fd, address: address, fixed: false)
        }
        failure[route.key] = "no free port in \(portRange.lowerBound)-\(portRange.upperBound) on \(bindAddress.host)"
        return nil
    }
}
