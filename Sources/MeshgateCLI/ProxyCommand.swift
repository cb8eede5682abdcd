import ArgumentParser
import Logging
import MeshgateLoop
import MeshgateProxy

/// `meshgate proxy`: a plain L4 proxy from one listen address to a set of upstreams.
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Proxy TCP connections from --listen to one of the --upstream addresses.",
        discussion: """
            Bytes move with splice(2) through pipes (zero copy). Several upstreams are used round \
            robin; a failed connect fails over to the next; when all fail the client gets a reset.
            SIGTERM/SIGINT drain (stop accepting, let connections finish up to --drain-timeout);
            a second signal ends at once. SIGUSR1 prints the counters as JSON on standard error.
            """
    )

    @Option(name: .long, help: "Address to listen on, HOST:PORT or [V6]:PORT.")
    var listen: String

    @Option(name: .long, help: "Upstream HOST:PORT; repeat for several (round robin with fail-over).")
    var upstream: [String] = []

    @Option(name: .long, help: "Loop threads (default: number of cores).")
    var threads: Int?

    @Option(name: .long, help: "I/O backend: uring, epoll or auto (env MESHGATE_IO_BACKEND).")
    var ioBackend: String?

    @Option(name: .long, help: "auto: pin loop i to the i-th allowed CPU (when there are at least as many CPUs as loops); off: no pinning.")
    var cpuAffinity: String = "off"

    @Option(name: .long, help: "Connect timeout per upstream attempt.")
    var connectTimeout: String = "5s"

    @Option(name: .long, help: "Close connections with no traffic for this long.")
    var idleTimeout: String = "1h"

    @Option(name: .long, help: "Maximum open client connections; beyond it accepting pauses.")
    var maxConnections: Int = 100_000

    @Option(name: .long, help: "On SIGTERM, how long open connections may take to finish.")
    var drainTimeout: String = "30s"

    @Option(name: .long, help: "Log the counters at this interval (0 disables).")
    var statsInterval: String = "0"

    @Option(name: .long, help: "Write the counters as JSON to this file at each interval, on SIGUSR1 and at exit.")
    var statsFile: String?

    @Option(name: .long, help: "Splice pipe size in bytes (0: kernel default).")
    var pipeSize: Int = 0

    @Flag(name: .long, help: "Copy through user-space buffers instead of splice.")
    var noSplice = false

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @OptionGroup(title: "Mutual TLS")
    var tls: TLSOptions

    func validate() throws {
        _ = try settings()
    }

    /// The validated settings, or a `ValidationError` naming the flag.
    func settings() throws -> ProxySettings {
        func duration(_ flag: String, _ text: String) throws -> Duration {
            try DurationFlag.parse(flag, text)
        }
        func address(_ flag: String, _ text: String) throws -> SocketAddress {
            do { return try SocketAddress.resolve(text) } catch let e as AddressError {
                throw ValidationError("--\(flag) \(e)")
            }
        }
        let listenAddress = try address("listen", listen)
        guard !upstream.isEmpty else { throw ValidationError("--upstream is required (at least one HOST:PORT)") }
        var upstreams: [SocketAddress] = []
        for u in upstream {
            let a = try address("upstream", u)
            guard a.port != 0 else { throw ValidationError("--upstream '\(u)': port 0 is not a valid upstream port") }
            upstreams.append(a)
        }
        let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let threadCount = threads ?? cores
        guard (1...256).contains(threadCount) else { throw ValidationError("--threads \(threadCount): must be from 1 to 256") }
        let backendText = ioBackend ?? ProcessEnvironment.value("MESHGATE_IO_BACKEND") ?? "auto"
        guard let backend = IOBackendChoice(rawValue: backendText) else {
            let source = ioBackend != nil ? "--io-backend" : "MESHGATE_IO_BACKEND"
            throw ValidationError("\(source) '\(backendText)': must be uring, epoll or auto")
        }
        guard let affinity = CPUAffinity(rawValue: cpuAffinity) else {
            throw ValidationError("--cpu-affinity '\(cpuAffinity)': must be auto or off")
        }
        let connect = try duration("connect-timeout", connectTimeout)
        guard connect > .zero else { throw ValidationError("--connect-timeout must be more than 0") }
        let idle = try duration("idle-timeout", idleTimeout)
        guard idle > .zero else { throw ValidationError("--idle-timeout must be more than 0") }
        let drain = try duration("drain-timeout", drainTimeout)
        let stats = try duration("stats-interval", statsInterval)
        guard maxConnections >= 1 else { throw ValidationError("--max-connections \(maxConnections): must be at least 1") }
        guard pipeSize >= 0 && pipeSize <= 1 << 26 else { throw ValidationError("--pipe-size \(pipeSize): must be from 0 to 67108864") }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level '\(logLevel)': must be trace, debug, info, notice, warning, error or critical")
        }
        let config = ProxyConfiguration(
            listen: listenAddress, upstreams: upstreams, threads: threadCount, backend: backend, cpuAffinity: affinity,
            connectTimeout: connect, idleTimeout: idle, maxConnections: maxConnections,
            pipeSize: pipeSize, splice: !noSplice, tls: try tls.configuration())
        return ProxySettings(proxy: config, drainTimeout: drain, statsInterval: stats, statsFile: statsFile, logLevel: level)
    }

    func run() async throws {
        let s = try settings()
        let logger = LogSetup.logger(label: "meshgate.proxy", level: s.logLevel)
        let server: ProxyServer
        do {
            server = try ProxyServer(configuration: s.proxy, logger: logger)
        } catch {
            throw RuntimeError("cannot listen on \(s.proxy.listen): \(error)")
        }
        try await ProxyService(server: server, settings: s, logger: logger).runUntilDone()
    }
}

/// Validated `meshgate proxy` settings.
struct ProxySettings: Sendable {
    var proxy: ProxyConfiguration
    var drainTimeout: Duration
    var statsInterval: Duration
    var statsFile: String?
    var logLevel: Logger.Level
}

/// A failure at run time, printed as one line.
struct RuntimeError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

#if canImport(Glibc)
import Glibc
#endif

/// Reads environment variables without Foundation.
enum ProcessEnvironment {
    static func value(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }
}
