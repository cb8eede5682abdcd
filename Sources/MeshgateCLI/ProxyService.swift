#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
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

    /// Runs the service in a group that turns SIGTERM/SIGINT into a graceful shutdown.
    func runUntilDone() async throws {
        // splice(2) cannot take MSG_NOSIGNAL: a write to a closed peer must give EPIPE, not kill us.
        signal(SIGPIPE, SIG_IGN)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: self, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }

    func run() async throws {
        try server.start()
        let c = server.configuration
        logger.info(
            "meshgate proxy listening on \(server.boundAddress) → \(c.upstreams.map(\.description).joined(separator: ", ")); \(c.threads) loop(s); io backend \(server.backend.kind) (\(server.backend.reason)); data path \(c.splice ? "splice" : "copy")")
        if server.effectiveMaxConnections < c.maxConnections {
            logger.notice("the descriptor limit (RLIMIT_NOFILE) holds \(server.effectiveMaxConnections) connections, fewer than --max-connections \(c.maxConnections); using \(server.effectiveMaxConnections)")
        }
        let server = self.server
        let settings = self.settings
        let logger = self.logger
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sigusr1) {
                    let json = Self.statsJSON(server)
                    FileHandleStandardError.write(json + "\n")
                    Self.writeStatsFile(settings.statsFile, json)
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
            await withGracefulShutdownHandler {
                _ = await server.waitAsync()
            } onGracefulShutdown: {
                logger.info("draining: no new connections; \(server.stats[.active]) open, up to \(settings.drainTimeout)")
                server.drain()
                Task {
                    if await !server.waitAsync(timeout: settings.drainTimeout) {
                        logger.warning("drain deadline passed; closing \(server.stats[.active]) connection(s)")
                        server.stop()
                    }
                }
                Task {
                    for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                        logger.warning("second signal; closing \(server.stats[.active]) connection(s) now")
                        server.stop()
                        break
                    }
                }
            }
            group.cancelAll()
        }
        let json = Self.statsJSON(server)
        Self.writeStatsFile(settings.statsFile, json)
        logger.info("stopped; stats \(server.stats.logLine)")
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
