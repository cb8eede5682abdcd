import ArgumentParser
import Logging
import MeshgateAdmin
import MeshgateControl
import MeshgateProxy

/// `meshgate gateway --config gateway.yaml`: one cluster's gateway (docs/gateway.md).
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Run this cluster's gateway: the inbound mTLS port and one outbound listener per route.",
        discussion: """
            Reads gateway.yaml (docs/gateway-config.md), the registry and the identity files, and \
            watches them all: a change is published to the running loops; a broken file keeps the \
            last good one and logs file:line: field: message. SIGHUP reloads at once. \
            SIGTERM/SIGINT drain (limits.drainTimeout); a second signal ends at once; SIGUSR1 \
            prints the counters as JSON on standard error. The admin endpoint (admin.listen, \
            default 127.0.0.1:4191) serves /live, /ready, /status and /metrics (docs/operations.md).
            """
    )

    @Option(name: .long, help: "The gateway configuration file (YAML).")
    var config: String

    @Flag(name: .long, help: "Validate the configuration, the registry and the identity files (chain, identity, key, validity), then exit (0: good, 2: errors).")
    var check = false

    @Option(name: .long, help: "Log the counters at this interval (0 disables).")
    var statsInterval: String = "0"

    @Option(name: .long, help: "Write the counters as JSON to this file at each interval, on SIGUSR1 and at exit.")
    var statsFile: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level '\(logLevel)': must be trace, debug, info, notice, warning, error or critical")
        }
        let stats = try DurationFlag.parse("stats-interval", statsInterval)
        if check {
            do {
                // The identity checks of `meshgate check` (IdentityVerification), all of them.
                let loaded = try GatewayController.load(configPath: config, strict: true)
                let c = loaded.config
                for w in loaded.identity.warnings { FileHandleStandardError.write("warning: \(w)\n") }
                print("\(config): OK: cluster \(c.cluster), inbound \(c.inbound.listen), \(c.routes.count) route(s), \(loaded.registry.services.count) service(s) (\(loaded.registry.exportedServices.count) exported)")
                return
            } catch {
                FileHandleStandardError.write(error.description + "\n")
                throw ExitCode(2)
            }
        }
        let logger = LogSetup.logger(label: "meshgate.gateway", level: level)
        let controller: GatewayController
        do {
            controller = try GatewayController(configPath: config, logger: logger)
        } catch let errors as ConfigErrors {
            FileHandleStandardError.write(errors.description + "\n")
            throw ExitCode(2)
        } catch {
            throw RuntimeError("cannot start the gateway: \(error)")
        }
        let c = controller.currentConfig
        let settings = ProxySettings(
            proxy: controller.server.configuration, drainTimeout: c.limits.drainTimeout, statsInterval: stats, statsFile: statsFile,
            logLevel: level)
        var service = ProxyService(server: controller.server, settings: settings, logger: logger)
        service.gateway = controller
        // `traffic` gives the admin endpoint the data plane's figures by series (routes' `active`,
        // the labelled /metrics families and the latency histograms).
        let admin = AdminServer(
            controller: controller, traffic: { [server = controller.server] in server.traffic() }, logger: logger,
            metricsRegistry: AdminServer.bootstrapMetricsSystem())
        service.admin = admin
        do {
            try await service.runUntilDone()
        } catch {
            await admin.shutdown()
            controller.stopWatching()
            throw error
        }
        await admin.shutdown()
        controller.stopWatching()
    }
}
