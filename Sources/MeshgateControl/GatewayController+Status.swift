import Foundation
import MeshgateLoop
import MeshgateProxy

/// Whether the gateway should receive traffic, and why not.
public struct GatewayReadiness: Sendable, Equatable {
    /// Every reason it is not ready; empty when it is.
    public var reasons: [String]

    /// Ready when there is no reason not to be.
    public var isReady: Bool { reasons.isEmpty }
}

extension GatewayController {
    /// Ready means: the loops run (inbound listener accepting; the identity and the registry
    /// were loaded, or the controller would not exist), a route table has been published and
    /// every loop has applied one (route listeners armed), every static route has a listener,
    /// the certificate has not expired, and the gateway is not draining. Links play no part: a
    /// dead linked cluster fails only its own routes.
    public func readiness(now: Date = Date()) -> GatewayReadiness {
        var reasons: [String] = []
        if lifecycle.startedAt == nil { reasons.append("starting: the loops are not running yet") }
        if let since = lifecycle.drainingSince {
            reasons.append("draining since \(Self.iso8601(since)): shutting down, no new connections")
        }
        let snapshot = publisher.snapshot
        if snapshot.generation == 0 {
            reasons.append("no route table published yet")
        } else if publisher.appliedByAllLoops == 0 {
            reasons.append("route table generation \(snapshot.generation) not yet applied by every loop")
        }
        if snapshot.generation > 0 {
            for route in currentConfig.routes {
                let key = GatewayTables.key(route)
                if snapshot.routes[key] == nil { reasons.append("static route \(key) has no listener") }
            }
        }
        if let waiting = kubernetesRegistryNotReady(now: now) { reasons.append(waiting) }
        let certificate = leafCertificate.info(for: snapshot.credentials.server)
        if let notAfter = certificate.notAfter, notAfter <= now {
            reasons.append("the certificate \(certificate.path) expired at \(Self.iso8601(notAfter))")
        }
        if let notBefore = certificate.notBefore, notBefore > now {
            reasons.append("the certificate \(certificate.path) is not valid before \(Self.iso8601(notBefore))")
        }
        return GatewayReadiness(reasons: reasons)
    }

    /// Everything `/status` reports. `traffic` is the data plane's traffic by series, when it
    /// gives one: routes' `active` counts come from it (nil without).
    public func status(traffic: TrafficSnapshot?, now: Date = Date()) -> GatewayStatus {
        let config = currentConfig
        let snapshot = publisher.snapshot
        let readiness = readiness(now: now)
        let certificate = leafCertificate.info(for: snapshot.credentials.server)
        let refused = identityRefusals.lastRefusal
        let renewal = config.identity.renew == nil ? nil : GatewayStatus.RenewalStatus(renewer.status)
        let identity = GatewayStatus.IdentityStatus(
            name: certificate.identity ?? config.gatewayIdentity?.spiffeURI ?? "", certificate: certificate.path,
            notAfter: certificate.notAfter, reloadsRefused: identityRefusals.count, lastReloadRefusal: refused?.reason,
            lastReloadRefusalAt: refused?.at, secondsLeft: certificate.notAfter.map { $0.timeIntervalSince(now) },
            warning: GatewayStatus.expiryWarning(notAfter: certificate.notAfter, now: now, renewal: renewal), renewal: renewal)
        let staticKeys = Set(config.routes.map(GatewayTables.key))
        // Remote services by cluster, for the port names of mirrored routes.
        let remote = Dictionary(links.mirrors.map { ($0.cluster, $0.state.services) }) { a, _ in a }
        var routes: [RouteStatus] = []
        for key in snapshot.routes.keys.sorted() {
            guard let published = snapshot.routes[key] else { continue }
            let isStatic = staticKeys.contains(key)
            var route = Self.routeStatus(published, source: isStatic ? .static : .mirror, traffic: traffic)
            if !isStatic {
                let t = published.route.target
                route.portName = remote[published.route.cluster]?["\(t.namespace)/\(t.name)"]?.portName(for: t.port)
            }
            routes.append(route)
        }
        let services = snapshot.services.values
        var status = GatewayStatus(
            cluster: config.cluster, trustDomain: config.trustDomain, identity: identity, ready: readiness.isReady,
            notReady: readiness.reasons, ioBackend: server.backend.kind.rawValue,
            kernelTLS: Self.kernelTLSWord(server.kernelTLSStatus), kernelTLSDetail: server.kernelTLSStatus,
            inbound: server.boundAddress.description, startedAt: lifecycle.startedAt, drainingSince: lifecycle.drainingSince,
            routeTable: .init(generation: snapshot.generation, appliedByAllLoops: publisher.appliedByAllLoops),
            services: .init(count: services.count, exported: services.filter(\.exported).count),
            links: links.mirrors.map { mirror in
                var link = Self.linkStatus(mirror, refused: mirrorRefusals(cluster: mirror.cluster))
                if let traffic { link.pool = Self.poolStatus(traffic.pools[mirror.cluster] ?? PoolCounts()) }
                return link
            }, routes: routes,
            counters: server.stats.values.merging(discovery.counters) { $1 })
        status.mirrorServices = mirrorWriter?.status
        status.registry = registrySourceStatus(now: now)
        return status
    }

    /// One mirror as `/status` shows it.
    static func linkStatus(_ mirror: LinkMirror, refused: [MirrorRefusal] = []) -> LinkStatus {
        let state = mirror.state
        let health = mirror.health
        return LinkStatus(
            cluster: mirror.cluster, alive: state.alive, streaming: state.streaming, synced: state.synced,
            services: state.services.count, gateways: mirror.bundle.gateways.map(\.description),
            liveGateways: state.liveGateways.map(\.description),
            latency: .init(
                p50Ms: health.roundTrip(quantile: 0.5).map(milliseconds), p99Ms: health.roundTrip(quantile: 0.99).map(milliseconds),
                lastMs: state.lastRoundTrip.map(milliseconds)),
            probes: .init(answered: health.probesAnswered, failed: health.probesFailed), streamsOpened: health.streamsOpened,
            lastError: health.lastError, lastErrorAt: health.lastErrorAt,
            refusals: .init(
                conflicts: health.conflicts, services: health.refusedServices, routes: health.refusedRoutes,
                current: Array(refused.map(\.message).prefix(50))))
    }

    /// A link's warm-pool counts as `/status` shows them.
    static func poolStatus(_ c: PoolCounts) -> LinkStatus.Pool {
        LinkStatus.Pool(
            idle: c[.gatewayPoolIdle], opening: c[.gatewayPoolOpening], opened: c[.gatewayPoolOpened], hits: c[.gatewayPoolHits],
            misses: c[.gatewayPoolMisses], expired: c[.gatewayPoolExpired], closedByPeer: c[.gatewayPoolClosedByPeer],
            lost: c[.gatewayPoolLost], drained: c[.gatewayPoolDrained], failed: c[.gatewayPoolFailed])
    }

    /// One published route as `/status` shows it.
    static func routeStatus(_ published: PublishedRoute, source: RouteStatus.Source, traffic: TrafficSnapshot?) -> RouteStatus {
        let route = published.route
        let (namespace, name, port) = splitKey(route.key)
        var active: Int64? = nil
        if let traffic {
            let series = TrafficKey(direction: .outbound, cluster: route.cluster, service: "\(namespace)/\(name)")
            active = traffic.series[series]?.active ?? 0
        }
        let t = route.target
        return RouteStatus(
            key: route.key, namespace: namespace, name: name, port: port, listen: published.listener.address.description,
            cluster: route.cluster, target: "\(t.namespace)/\(t.name):\(t.port)", source: source,
            state: route.alive ? .up : .down, active: active)
    }

    /// `namespace/name:port` into its parts.
    static func splitKey(_ key: String) -> (String, String, UInt16) {
        let slash = key.firstIndex(of: "/") ?? key.startIndex
        let colon = key.lastIndex(of: ":") ?? key.endIndex
        let namespace = String(key[..<slash])
        let nameStart = slash < key.endIndex && key[slash] == "/" ? key.index(after: slash) : slash
        let name = nameStart <= colon ? String(key[nameStart..<colon]) : ""
        let port = colon < key.endIndex ? UInt16(key[key.index(after: colon)...]) ?? 0 : 0
        return (namespace, name, port)
    }

    /// `available`, `unavailable`, `off` or `none`, from `ProxyServer.kernelTLSStatus`.
    static func kernelTLSWord(_ status: String) -> String {
        if status.hasPrefix("available") { return "available" }
        if status.hasPrefix("unavailable") { return "unavailable" }
        if status.hasPrefix("off") { return "off" }
        return "none"
    }

    static func iso8601(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }

    /// A duration in milliseconds.
    static func milliseconds(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) * 1000 + Double(c.attoseconds) / 1e15
    }
}
