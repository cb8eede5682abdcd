#if canImport(Glibc)
import Glibc
#endif
import Atomics
import Foundation
import MeshgateLoop

/// What one publish did.
public struct PublishReport: Sendable {
    /// The generation now current.
    public let generation: UInt64
    /// Where each published route listens, by route key.
    public let listening: [String: SocketAddress]
    /// Routes left out because no listener could be opened for them, with the reason.
    public let failed: [String: String]
}

/// The in-memory channel from the control side to the loops: builds `GatewaySnapshot`
/// values, opens and keeps the outbound route listeners, swaps the current snapshot
/// atomically and wakes every loop. Loops never wait on it.
///
/// Ports are stable: a route keeps its listener (and port) across publishes for as long as
/// it exists with the same fixed address (or none). A removed route's listener closes once
/// no loop accepts on it any more.
public final class RouteTablePublisher: @unchecked Sendable {
    /// The current snapshot (any thread may load it).
    let current: ManagedAtomic<GatewaySnapshot>
    /// Address outbound listeners bind (port ignored).
    public let bindAddress: SocketAddress
    /// Ports for routes without a fixed address.
    public let portRange: ClosedRange<UInt16>

    private let lock = NSLock()
    private var listeners: [String: RouteListener] = [:]
    private var wakers: [@Sendable () -> Void] = []
    /// Generation each loop has applied, by loop index.
    private let applied: [ManagedAtomic<UInt64>]

    /// A publisher for `loops` loops whose first snapshot has no routes or services.
    public init(bindAddress: SocketAddress, portRange: ClosedRange<UInt16>, credentials: GatewayCredentials, loops: Int) {
        self.bindAddress = bindAddress
        self.portRange = portRange
        current = ManagedAtomic(GatewaySnapshot(generation: 0, routes: [:], services: [:], credentials: credentials))
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
        applied.map { $0.load(ordering: .acquiring) }.min() ?? 0
    }

    /// Publishes a new table. Routes whose listener cannot be opened are left out (and
    /// reported); everything else takes effect in every loop at its next wake-up.
    @discardableResult
    public func publish(routes: [GatewayRoute], services: [ExportedService], credentials: GatewayCredentials? = nil) -> PublishReport {
        lock.lock()
        let previous = current.load(ordering: .acquiring)
        var kept: [String: RouteListener] = [:]
        var published: [String: PublishedRoute] = [:]
        var listening: [String: SocketAddress] = [:]
        var failed: [String: String] = [:]
        var usedPorts = Set<UInt16>()
        for route in routes {
            if let old = listeners[route.key], Self.fits(old, route) { usedPorts.insert(old.address.port) }
        }
        // Fixed addresses first: a range port must never take one a route names.
        let ordered = routes.filter { $0.fixedListen != nil } + routes.filter { $0.fixedListen == nil }
        for route in routes {
            if let fixed = route.fixedListen { usedPorts.insert(fixed.port) }
        }
        for route in ordered {
            guard published[route.key] == nil else {
                failed[route.key] = "duplicate route key"
                continue
            }
            var listener: RouteListener? = nil
            if let old = listeners[route.key], Self.fits(old, route) {
                listener = old
            } else {
                let (opened, reason) = openListener(for: route, avoiding: &usedPorts)
                listener = opened
                if opened == nil { failed[route.key] = reason }
            }
            guard let listener else { continue }
            kept[route.key] = listener
            let entry: PublishedRoute
            if let old = previous.routes[route.key], old.listener === listener, old.route.sameAs(route) {
                entry = old  // unchanged: loops leave it alone
            } else {
                entry = PublishedRoute(route: route, listener: listener)
            }
            published[route.key] = entry
            listening[route.key] = listener.address
        }
        listeners = kept
        var servicesByKey: [String: ExportedService] = [:]
        for s in services { servicesByKey[s.key] = s }
        let next = GatewaySnapshot(
            generation: previous.generation &+ 1, routes: published, services: servicesByKey,
            credentials: credentials ?? previous.credentials)
        current.store(next, ordering: .releasing)
        let wake = wakers
        lock.unlock()
        for w in wake { w() }
        return PublishReport(generation: next.generation, listening: listening, failed: failed)
    }

    /// Shutting down: every route is withdrawn (its listener closes once loops let go);
    /// services and credentials stay for connections still finishing.
    public func closeRoutes() {
        let services = Array(snapshot.services.values)
        publish(routes: [], services: services)
    }

    /// Whether an open listener still serves `route` (same fixed address, or both from the range).
    private static func fits(_ listener: RouteListener, _ route: GatewayRoute) -> Bool {
        if let fixed = route.fixedListen { return listener.fixed && listener.address == fixed }
        return !listener.fixed
    }

    private func openListener(for route: GatewayRoute, avoiding used: inout Set<UInt16>) -> (RouteListener?, String) {
        if let fixed = route.fixedListen {
            do {
                let fd = try Socket.listen(on: fixed, reusePort: false)
                return (RouteListener(fd: fd, address: (try? Socket.localAddress(fd)) ?? fixed, fixed: true), "")
            } catch {
                return (nil, "cannot listen on \(fixed): \(error)")
            }
        }
        for port in portRange where !used.contains(port) {
            let address = bindAddress.withPort(port)
            guard let fd = try? Socket.listen(on: address, reusePort: false) else { continue }
            used.insert(port)
            return (RouteListener(fd: fd, address: address, fixed: false), "")
        }
        return (nil, "no free port in \(portRange.lowerBound)-\(portRange.upperBound) on \(bindAddress.host)")
    }
}
