import Foundation
import Logging
import MeshgateDiscovery
import MeshgateLoop
import MeshgateProxy

/// One cluster's gateway, as the control side runs it: loads `gateway.yaml`, the registry and
/// the identity files; runs the data plane (`ProxyServer` in gateway mode); watches every file
/// and publishes a new route table when one changes. A broken file keeps what was last good
/// and logs why (file:line: field: message); the data plane never waits for any of this.
public final class GatewayController: @unchecked Sendable {
    /// The config file.
    public let configPath: String
    /// The data plane.
    public let server: ProxyServer
    /// The route-table channel into the loops.
    public let publisher: RouteTablePublisher
    /// Serves other clusters' mirrors (`discover` streams) from the published services.
    public let discovery: DiscoveryServer
    /// This cluster's mirrors of linked clusters (the links folder).
    public private(set) var links: LinkSupervisor!
    /// When it started serving and began draining (for `/ready` and `/status`).
    public let lifecycle = GatewayLifecycle()
    /// The loaded leaf certificate's identity and notAfter (for `/status`).
    public let leafCertificate = LeafCertificateCache()
    /// Identity reloads refused by `IdentityVerification` (for `/status` and `/metrics`).
    public let identityRefusals = IdentityReloadRefusals()
    /// Renews the gateway's own leaf when `identity.renew` is set (LeafRenewer.swift).
    public private(set) var renewer: LeafRenewer!

    let logger: Logger
    let lock = NSLock()
    /// Guarded by `lock`: the last good values.
    private(set) var config: GatewayConfig
    var registry: Registry
    private var credentials: GatewayCredentials
    private var watcher: FileWatcher?
    private let watchInterval: Duration
    /// Guarded by `lock`: data-plane values of the last good config and registry, so that a
    /// mirror's change republishes without resolving them again.
    private var staticRoutes: [GatewayRoute] = []
    private var localServices: [ExportedService] = []
    /// Guarded by `lock`: the mirrored routes last published, by key.
    var mirrored: [String: GatewayRoute] = [:]
    /// Guarded by `lock`: writes `<svc>-<cluster>` Services when `mirror.kubernetes.services` is
    /// set (GatewayController+KubernetesMirror.swift).
    var mirrorWriterLocked: KubernetesMirrorWriter?
    /// Guarded by `lock`: the route ports the mirrored Services in the API name
    /// (`MirroredServicePorts`), pinned beside `outbound.pin`.
    var adoptedPorts: [String: UInt16] = [:]
    /// Guarded by `lock`: mirror refusals in force (`MirrorRefusal.id`; each is logged and
    /// counted once while it lasts), and their messages by refused cluster (for `/status`).
    private var activeRefusals = Set<String>()
    private var refusalsByCluster: [String: [MirrorRefusal]] = [:]
    /// Guarded by `lock`: who holds each mirrored name (`<stateDir>/mirror-holders.json`). A
    /// holder whose link is absent is dropped only once the links folder has been read.
    private var holders = MirrorHolders()
    private var holdersPath: String?
    /// The registry from the Kubernetes API when `registry.kubernetes` is set
    /// (GatewayController+KubernetesRegistry.swift); set once in `init`.
    private(set) var kubernetesRegistry: KubernetesRegistrySource?
    /// Tries routes waiting for a port again (`GatewayController+Ports.swift`); guarded by `lock`.
    var portRetry: DispatchSourceTimer?

    /// Loads everything and binds the inbound listener; `start()` runs it.
    public init(configPath: String, logger: Logger, watchInterval: Duration = .milliseconds(200)) throws {
        self.configPath = configPath
        self.logger = logger
        self.watchInterval = watchInterval
        let loaded = try Self.load(configPath: configPath)
        config = loaded.config
        registry = loaded.registry
        credentials = loaded.credentials
        if let dir = loaded.config.stateDir {
            let path = MirrorHolders.path(in: dir)
            holdersPath = path
            switch MirrorHolders.load(path: path) {
            case .success(let h): holders = h
            case .failure(let e): logger.warning("\(e) (starting with no mirror holders; names go to the first links to claim them)")
            }
        }
        leafCertificate.remember(loaded.identity.leaf, for: loaded.credentials.server)
        for p in loaded.identity.problems { logger.error("\(p) (starting with it all the same: a renewed file is reloaded in place)") }
        for w in loaded.identity.warnings { logger.warning("\(w)") }
        let c = loaded.config
        let bind = try SocketAddress.resolve(host: c.outbound.bind, port: 0)
        publisher = RouteTablePublisher(
            bindAddress: bind, portRange: c.outbound.ports.lower...c.outbound.ports.upper, credentials: loaded.credentials,
            loops: c.loops, pins: c.outbound.pins, holdOff: c.outbound.portHoldOff,
            stateFile: c.stateDir.map { PortStateFile(stateDirectory: $0) }, problem: { [logger] in logger.warning("\($0)") })
        discovery = DiscoveryServer(publisher: publisher, logger: logger, policy: c.inbound.policy.discover)
        let listen = try SocketAddress.resolve(host: c.inbound.listen.host, port: c.inbound.listen.port)
        let proxy = ProxyConfiguration(
            listen: listen, upstreams: [], threads: c.loops, backend: IOBackendChoice(rawValue: c.ioBackend.rawValue) ?? .auto,
            cpuAffinity: c.cpuAffinity,
            connectTimeout: c.limits.connectTimeout, idleTimeout: c.limits.idleTimeout, maxConnections: c.limits.maxConnections,
            tls: ProxyTLSConfiguration(handshakeTimeout: c.inbound.handshakeTimeout, kernelTLS: c.ktls == .auto),
            gateway: GatewaySettings(
                publisher: publisher, headerTimeout: c.inbound.headerTimeout, discovery: discovery, inbound: c.inbound.policy,
                pooledIdleTimeout: c.inbound.pooledIdleTimeout))
        server = try ProxyServer(configuration: proxy, logger: logger)
        let publisher = self.publisher
        links = LinkSupervisor(
            config: { [unowned self] in currentConfig }, credentials: { publisher.snapshot.credentials.client }, logger: logger,
            interval: watchInterval, onChange: { [weak self] in self?.mirrorsChanged() })
        renewer = LeafRenewer(config: { [unowned self] in currentConfig }, reload: { [weak self] in self?.reload(changed: $0) }, logger: logger)
        kubernetesRegistry = try makeKubernetesRegistry(c)
    }

    /// What `gateway --check` validates (`strict`) and what a start needs: the config, the
    /// registry and the identity files with every check of `IdentityVerification`. `strict`
    /// refuses every identity problem; a start (not strict) refuses all but the timing ones (an
    /// expired or not yet valid leaf starts not ready, and a renewed file is reloaded in place;
    /// docs/identity.md).
    public static func load(
        configPath: String, strict: Bool = false
    ) throws(ConfigErrors) -> (config: GatewayConfig, registry: Registry, credentials: GatewayCredentials, identity: IdentityVerification) {
        let config = try GatewayConfig.load(path: configPath)
        var errors: [ConfigError] = []
        var registry = Registry.empty
        if let path = config.registry {
            do { registry = try Registry.load(path: path) } catch { errors += error.errors }
        }
        errors += kubernetesRegistryProblems(config, file: configPath)
        let identity = IdentityVerification.run(
            config.identity, expected: config.gatewayIdentity, cluster: config.cluster,
            handshakeTimeout: config.inbound.handshakeTimeout)
        errors += (strict ? identity.problems : identity.structuralProblems).map(\.error)
        guard errors.isEmpty, let credentials = identity.credentials else { throw ConfigErrors(errors) }
        return (config, registry, credentials, identity)
    }

    /// The configuration in force.
    public var currentConfig: GatewayConfig {
        lock.lock()
        defer { lock.unlock() }
        return config
    }

    /// Starts the loops, publishes the first route table, starts watching the files and
    /// starts a mirror per link bundle.
    public func start() throws {
        try server.start()
        lock.lock()
        let report = publishLocked(resolve: true)
        let old = watchLocked()
        lock.unlock()
        old?.stop()
        logPublish(report, first: true)
        startPortRetry()
        links.start()
        kubernetesRegistry?.start()
        startMirrorWriter()
        renewer.start()
        lifecycle.markStarted()
    }

    /// Stops watching, the mirrors and the discover streams (the server is drained or stopped
    /// by its owner).
    public func stopWatching() {
        lock.lock()
        let w = watcher
        watcher = nil
        lock.unlock()
        w?.stop()
        stopPortRetry()
        renewer.stop()
        links.stop()
        kubernetesRegistry?.stop()
        stopMirrorWriter()
        discovery.stop()
    }

    /// Reads every file again (a watcher saw a change, or SIGHUP) and publishes what is good.
    public func reload(changed: [String]? = nil) {
        lock.lock()
        var problems: [String] = []
        var identityChanged = changed == nil
        var rotated = false
        do {
            let next = try GatewayConfig.load(path: configPath)
            if next != config {
                for note in Self.needsRestart(config, next) { problems.append("\(configPath): \(note) changed; takes effect after a restart") }
                if next.identity != config.identity { identityChanged = true }
                config = next
            }
        } catch {
            problems += error.errors.map { "\($0) (keeping the last good \(configPath))" }
        }
        if kubernetesRegistry != nil {
            // The API server's registry stays: the source was chosen at start.
        } else if let path = config.registry {
            do { registry = try Registry.load(path: path) } catch {
                problems += error.errors.map { "\($0) (keeping the last good registry)" }
            }
        } else {
            registry = .empty
        }
        let files = config.identity
        if let changed, changed.contains(where: files.paths.contains) { identityChanged = true }
        var identityWarnings: [String] = []
        if identityChanged {
            // The checks of `meshgate check` (IdentityVerification): a refused identity is
            // never switched to; the current one stays in use.
            let v = IdentityVerification.run(
                files, expected: config.gatewayIdentity, cluster: config.cluster, handshakeTimeout: config.inbound.handshakeTimeout)
            if v.isAcceptable, let next = v.credentials {
                credentials = next
                leafCertificate.remember(v.leaf, for: next.server)
                rotated = true
                if changed == nil || changed!.contains(files.key) { identityWarnings = v.warnings }
            } else {
                let reasons = v.problems.map(\.description)
                identityRefusals.record(reasons.joined(separator: "; "))
                problems += reasons.map { "\($0) (identity reload refused; keeping the current certificate)" }
            }
        }
        publisher.setPortRules(
            pins: MirroredServicePorts.merge(configured: config.outbound.pins, adopted: adoptedPorts), holdOff: config.outbound.portHoldOff)
        let report = publishLocked(resolve: true)
        let old = watchLocked()
        lock.unlock()
        old?.stop()
        for p in problems { logger.warning("\(p)") }
        for w in identityWarnings { logger.warning("\(w)") }
        if rotated {
            // After the publish: loops pick the new contexts up at their next wake-up.
            logger.info("identity reloaded from \(files.cert): new handshakes use it; open connections keep theirs")
        }
        logPublish(report, first: false)
        pokeMirrorWriter()
    }

    /// Settings read only at start.
    static func needsRestart(_ a: GatewayConfig, _ b: GatewayConfig) -> [String] {
        var notes: [String] = []
        if a.cluster != b.cluster { notes.append("cluster") }
        if a.inbound != b.inbound { notes.append("inbound") }
        if a.outbound.bind != b.outbound.bind || a.outbound.ports != b.outbound.ports { notes.append("outbound.bind/ports") }
        if a.limits != b.limits { notes.append("limits") }
        if a.loops != b.loops { notes.append("loops") }
        if a.ioBackend != b.ioBackend { notes.append("ioBackend") }
        if a.cpuAffinity != b.cpuAffinity { notes.append("cpuAffinity") }
        if a.ktls != b.ktls { notes.append("ktls") }
        if a.admin != b.admin { notes.append("admin") }
        if a.stateDir != b.stateDir { notes.append("stateDir") }
        if (a.kubernetesRegistry == nil) != (b.kubernetesRegistry == nil) {
            notes.append("registry (file or kubernetes)")
        } else if a.kubernetesRegistry != b.kubernetesRegistry {
            notes.append("registry.kubernetes")
        }
        if a.kubernetesMirror != b.kubernetesMirror { notes.append("mirror.kubernetes") }
        return notes
    }

    /// Publishes the whole table: static routes, local services and credentials (resolved again
    /// when `resolve`), and the mirrored routes as the mirrors know them now.
    func publishLocked(resolve: Bool) -> (PublishReport, [String]) {
        var problems: [String] = []
        if resolve {
            let bind = config.outbound.bind
            staticRoutes = config.routes.map {
                GatewayTables.route($0, bind: bind, pool: config.links?.settings(for: $0.cluster).pool) { problems.append($0) }
            }
            localServices = registry.services.map { GatewayTables.service($0) { problems.append($0) } }
        }
        let (next, refusals) = composeMirroredLocked()
        problems += refusals
        mirrored = next
        let report = publisher.publish(
            routes: staticRoutes + next.keys.sorted().map { next[$0]! }, services: localServices, credentials: credentials)
        return (report, problems)
    }

    /// The mirrored routes as the mirrors know them now, and the refusals not logged before
    /// (docs/links.md, "Who holds a mirrored name").
    private func composeMirroredLocked() -> ([String: GatewayRoute], [String]) {
        var taken = Set(registry.services.map { "\($0.namespace)/\($0.name)" })
        for r in config.routes { taken.insert("\(r.namespace)/\(r.name)") }
        let mirrors = links?.mirrors ?? []
        let composed = MirroredRoutes.compose(
            sources: mirrors.map {
                MirrorSource(
                    cluster: $0.cluster, identity: $0.bundle.identity, state: $0.state, maxRoutes: $0.settings.maxRoutes,
                    pool: $0.settings.pool)
            }, taken: taken, holders: holders.holders, pruneAbsent: links?.hasScanned == true, held: mirrored.mapValues(\.cluster),
            requireClientTLS: config.outbound.requireClientTLS)
        var messages = noteRefusalsLocked(composed.refusals, mirrors: mirrors)
        if composed.holders != holders.holders {
            holders.holders = composed.holders
            if let holdersPath {
                do { try holders.save(path: holdersPath) } catch { messages.append("\(error) (mirror holders kept in memory only)") }
            }
        }
        return (composed.routes, messages)
    }

    /// Counts and records (as the link's last error) the refusals new since the last
    /// composition; returns their log lines (route-limit refusals one line per link).
    private func noteRefusalsLocked(_ refusals: [MirrorRefusal], mirrors: [LinkMirror]) -> [String] {
        let byCluster = Dictionary(mirrors.map { ($0.cluster, $0) }, uniquingKeysWith: { a, _ in a })
        let fresh = refusals.filter { !activeRefusals.contains($0.id) }
        activeRefusals = Set(refusals.map(\.id))
        refusalsByCluster = Dictionary(grouping: refusals, by: \.cluster)
        var lines: [String] = []
        var overRoutes: [String: [MirrorRefusal]] = [:]
        for r in fresh {
            let mirror = byCluster[r.cluster]
            switch r.kind {
            case .taken, .conflict:
                mirror?.recordHealth { $0.conflicts += 1 }
                mirror?.recordError(r.message)
                lines.append(r.message)
            case .routesLimit:
                overRoutes[r.cluster, default: []].append(r)
            }
        }
        for (cluster, list) in overRoutes.sorted(by: { $0.key < $1.key }) {
            let keys = list.prefix(5).map(\.key).joined(separator: ", ") + (list.count > 5 ? ", …" : "")
            let limit = byCluster[cluster]?.settings.maxRoutes ?? 0
            let message =
                "\(list.count) route(s) refused: the link has \(limit) routes (links limits.routes); the routes it has keep their place (\(keys))"
            byCluster[cluster]?.recordHealth { $0.refusedRoutes += list.count }
            byCluster[cluster]?.recordError(message)
            lines.append("link \(cluster): \(message)")
        }
        return lines
    }

    /// The refusals in force for the link to `cluster` (for `/status`).
    func mirrorRefusals(cluster: String) -> [MirrorRefusal] {
        lock.withLock { refusalsByCluster[cluster] ?? [] }
    }

    /// A mirror's knowledge changed (or a mirror started or stopped): publishes the change to
    /// the mirrored routes only.
    func mirrorsChanged() {
        lock.lock()
        let (next, refusals) = composeMirroredLocked()
        let removed = mirrored.keys.filter { next[$0] == nil }.sorted()
        var upserted: [GatewayRoute] = []
        for key in next.keys.sorted() {
            if let old = mirrored[key], old.sameAs(next[key]!) { continue }
            upserted.append(next[key]!)
        }
        let added = Set(next.keys.filter { mirrored[$0] == nil })
        let previous = mirrored
        mirrored = next
        var report: PublishReport? = nil
        if !upserted.isEmpty || !removed.isEmpty {
            report = publisher.update(upserting: upserted, removing: removed)
        }
        // Routes without a listener stay in `mirrored`: the publisher keeps them waiting for a
        // port and tries them again (retryWaiting).
        lock.unlock()
        pokeMirrorWriter()
        for r in refusals { logger.warning("\(r)") }
        guard let report else { return }
        logNoListener(report.failed)
        logRecovered(report)
        for key in added.sorted() {
            guard let route = next[key], let address = report.listening[key] else { continue }
            logger.info("link \(route.cluster): route \(key) on \(address)\(route.alive ? "" : " (link down)")")
        }
        for key in removed {
            logger.info("link \(previous[key]?.cluster ?? "?"): route \(key) removed")
        }
        logger.debug("route table generation \(report.generation): \(upserted.count) mirrored route(s) changed, \(removed.count) removed")
    }

    func logPublish(_ result: (PublishReport, [String]), first: Bool) {
        let (report, problems) = result
        for p in problems { logger.warning("\(p)") }
        logNoListener(report.failed)
        logRecovered(report)
        let listening = report.listening.sorted(by: { $0.key < $1.key }).map { "\($0.key) on \($0.value)" }
        if first {
            logger.info("route table generation \(report.generation): \(listening.isEmpty ? "no routes" : listening.joined(separator: ", "))")
        } else {
            logger.info("route table generation \(report.generation): \(report.listening.count) route(s)")
        }
    }

    /// (Re)starts the watcher when the set of watched files changed; returns the old one, for
    /// the caller to stop once it has let go of the lock (its callback may be waiting for it).
    private func watchLocked() -> FileWatcher? {
        var paths: [String] = []
        for p in [configPath] + config.identity.paths + [config.registry].compactMap({ $0 })
        where !paths.contains(p) { paths.append(p) }
        if let w = watcher, w.paths == paths { return nil }
        let old = watcher
        let logger = self.logger
        let w = FileWatcher(
            paths: paths, interval: watchInterval,
            onError: { path, message in logger.warning("watching \(path): \(message)") },
            onChange: { [weak self] changed in self?.reload(changed: changed) })
        watcher = w
        w.start()
        return old
    }
}
