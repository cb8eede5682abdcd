import Atomics
import Foundation
import HashTreeCollections
import MeshgateLoop

#if canImport(Glibc)
    import Glibc
#endif

/// Building the next snapshot: which routes change, which listener each gets (kept, handed
/// over, or opened on the allocator's port), and the swap.
extension RouteTablePublisher {
    /// What one `apply` did.
    struct Applied {
        var generation: UInt64 = 0
        var listening: [String: SocketAddress] = [:]
        var failed: [String: String] = [:]
        var recovered: [String] = []
    }

    /// Builds and swaps in the next snapshot (lock held). Routes waiting for a listener are
    /// tried after `upserting`; their failures are not reported again. With `onlyIfChanged`,
    /// nothing is published (nil) when no route changed.
    func apply(
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
