#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import MeshgateAdmin
import MeshgateControl
import MeshgateProxy
import ServiceLifecycle
import UnixSignals

/// Runs a `ProxyServer` as a service: SIGTERM/SIGINT drain it (a second signal or the drain
/// deadline ends it at once), SIGUSR1 dumps the counters, and the counters are logged and
/// written to the stats file at the configured interval and at exit.
struct ProxyService: Service {
    let server: ProxyServer
    let settings: ProxySettings
    let logger: Logger
    /// Gateway mode: started with the server, reloaded on SIGHUP.
    var gateway: GatewayController? = nil
    /// Gateway mode: the admin endpoint, started on `admin.listen` once the gateway runs.
    var admin: AdminServer? = nil

    /// Runs the service in a service group. SIGTERM/SIGINT are handled by the service itself
    /// with one signal sequence for the whole run, so that the second signal is seen reliably
    /// (a second sequence created after the first signal missed it).
    func runUntilDone() async throws {
        // splice(2) cannot take MSG_NOSIGNAL: a write to a closed peer must give EPIPE, not kill us.
        signal(SIGPIPE, SIG_IGN)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: self, successTerminationBehavior: .gracefullyShutdownGroup)],
                logger: logger))
        try await group.run()
    }

    func run() async throws {
        // Trap the signals before anything announces that the proxy is up.
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sigusr1, .sighup)
        if let gateway {
            try gateway.start()
            let c = server.configuration
            let g = gateway.currentConfig
            logger.info(
                "meshgate gateway of cluster \(g.cluster): inbound mTLS on \(server.boundAddress); \(g.routes.count) route(s), outbound ports \(g.outbound.bind):\(g.outbound.ports); \(c.threads) loop(s); io backend \(server.backend.kind) (\(server.backend.reason)); kernel TLS \(server.kernelTLSStatus)")
            if let admin {
                do {
                    try Self.startAdmin(admin, listen: g.admin.listen, logger: logger)
                } catch {
                    server.stop()
                    gateway.stopWatching()
                    throw error
                }
            }
        } else {
            try server.start()
            logProxyStart()
        }
        let server = self.server
        let settings = self.settings
        let logger = self.logger
        let gateway = self.gateway
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var stopSignals = 0
                for await signal in signals {
                    if signal == .sighup {
                        if let gateway {
                            logger.info("SIGHUP: reloading the configuration, registry and identity files")
                            gateway.reload()
                        }
                        continue
                    }
                    if signal == .sigusr1 {
                        let json = Self.statsJSON(server)
                        FileHandleStandardError.write(json + "\n")
                        Self.writeStatsFile(settings.statsFile, json)
                        continue
                    }
                    stopSignals += 1
                    if stopSignals == 1 {
                        gateway?.lifecycle.markDraining()
                        logger.info("\(signal): draining: no new connections; \(server.stats[.active]) open, up to \(settings.drainTimeout)")
                        server.drain()
                        // Peers' mirrors hear of it now (a clean end of their discover streams),
                        // not when the process exits.
                        gateway?.discovery.stop()
                        Task {
                            if await !server.waitAsync(timeout: settings.drainTimeout) {
                                logger.warning("drain deadline passed; closing \(server.stats[.active]) connection(s)")
                                server.stop()
                            }
                        }
                    } else {
                        logger.warning("second \(signal); closing \(server.stats[.active]) connection(s) now")
                        server.stop()
                    }
                }
            }
            if settings.statsInterval > .zero || settings.statsFile != nil {
                group.addTask {
                    let interval = settings.statsInterval > .zero ? settings.statsInterval : .seconds(1)
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        if Task.isCancelled { break }
                        if settings.statsInterval > .zero { logger.info("stats \(server.stats.logLine)") }
                        Self.writeStatsFile(settings.statsFile, Self.statsJSON(server))
                    }
                }
            }
            // Also stop when the group shuts down for another reason (e.g. a sibling service ends).
            await withGracefulShutdownHandler {
                _ = await server.waitAsync()
            } onGracefulShutdown: {
                gateway?.lifecycle.markDraining()
                server.drain()
            }
            group.cancelAll()
        }
        let json = Self.statsJSON(server)
        Self.writeStatsFile(settings.statsFile, json)
        logger.info("stopped; stats \(server.stats.logLine)")
    }

    /// Starts the admin endpoint on `listen`. Failing to listen is a start-up error naming
    /// `admin.listen`, except when the address is the default one and already taken (several
    /// gateways on one host that leave `admin.listen` unset): then the gateway runs without an
    /// admin endpoint and says so.
    static func startAdmin(_ admin: AdminServer, listen: HostPort, logger: Logger) throws {
        do {
            try admin.start(host: listen.host, port: Int(listen.port))
        } catch {
            guard error.addressInUse, listen == GatewayDefaults.adminListen else {
                throw RuntimeError("\(error); set admin.listen in the gateway config to a free address")
            }
            logger.warning(
                "\(error); running without an admin endpoint (/live, /ready, /status, /metrics): set admin.listen in the gateway config to a free address")
        }
    }

    private func logProxyStart() {
        let c = server.configuration
        logger.info(
            "meshgate proxy listening on \(server.boundAddress) → \(c.upstreams.map(\.description).joined(separator: ", ")); \(c.threads) loop(s); io backend \(server.backend.kind) (\(server.backend.reason)); data path \(c.splice ? "splice" : "copy")")
        if c.tls.downstream != nil || c.tls.upstream != nil {
            var sides: [String] = []
            if let d = c.tls.downstream {
                let allowed = d.configuration.allowedPeerIdentities.map { $0.map(\.description).sorted().joined(separator: ", ") }
                sides.append("terminating (clients allowed: \(allowed ?? "any the trust bundle vouches for"))")
            }
            if let u = c.tls.upstream, let expected = c.tls.expectedUpstreamIdentity {
                sides.append("originating (upstream must be \(expected); resumption \(u.configuration.sessionCache == nil ? "off" : "on"))")
            }
            logger.info("mTLS \(sides.joined(separator: ", ")); handshake timeout \(c.tls.handshakeTimeout); kernel TLS \(server.kernelTLSStatus)")
        }
        if server.effectiveMaxConnections < c.maxConnections {
            logger.notice("the descriptor limit (RLIMIT_NOFILE) holds \(server.effectiveMaxConnections) connections, fewer than --max-connections \(c.maxConnections); using \(server.effectiveMaxConnections)")
        }
    }

    static func statsJSON(_ server: ProxyServer) -> String {
        server.stats.json(extra: [("io_backend", server.backend.kind.rawValue), ("listen", server.boundAddress.description)])
    }

    /// Writes atomically (temp file + rename) so readers never see half a file.
    static func writeStatsFile(_ path: String?, _ json: String) {
        guard let path else { return }
        let tmp = path + ".tmp"
        do {
            try (json + "\n").write(toFile: tmp, atomically: false, encoding: .utf8)
            if rename(tmp, path) != 0 { unlink(tmp) }
        } catch {}
    }
}
