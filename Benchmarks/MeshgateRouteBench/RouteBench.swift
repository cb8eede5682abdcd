import ArgumentParser
import MeshgateLoop

#if canImport(Glibc)
import Glibc
import MeshgateNames
#endif

/// `meshgate-route-bench`: how long a route-table change takes to reach every loop of a running
/// gateway (in this process), with a large table.
struct RouteBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meshgate-route-bench",
        abstract: "Route-table propagation: publish changes to an N-route table and time until every loop applied them.",
        discussion: """
            Runs a gateway-mode ProxyServer in this process (inbound listener on 127.0.0.1:0, --loops loops, TLS \
            credentials generated with the openssl command line), publishes --routes routes (one listener each, \
            ports from --port-base), then --changes changes, each adding one route, removing another and changing a \
            third one's gateways. Per change it measures: total (just before publish → every loop applied the \
            generation), publish (the publish call: building the snapshot, opening the new listener, waking the \
            loops) and propagation (publish returned → every loop applied). Afterwards it checks that the route \
            added last is accepted by a loop and that the port of the route removed last refuses connections. \
            Exit status: 0 ok, 2 something failed, 3 --max-p50-us exceeded. See docs/benchmarks.md.
            """)

    @Option(name: .long, help: "Routes in the table (one listening descriptor each).")
    var routes: Int = 10_000

    @Option(name: .long, help: "Measured changes.")
    var changes: Int = 500

    @Option(name: .long, help: "Changes made first and not measured.")
    var warmup: Int = 20

    @Option(name: .long, help: "Gateway loop threads.")
    var loops: Int = 2

    @Option(name: .long, help: "I/O backend: uring, epoll or auto.")
    var ioBackend: String = "auto"

    @Option(name: .long, help: "First port of the route listeners' range (the range holds --routes + 100 ports).")
    var portBase: Int = 20_000

    @Option(name: .long, help: "How long one change may take to reach every loop, e.g. 5s.")
    var timeout: String = "5s"

    @Option(name: .long, help: "Waiting for the loops: yield (spin, giving up the CPU each turn) or spin (busy).")
    var wait: String = "yield"

    @Option(name: .long, help: "Exit with status 3 when the total p50 exceeds this many microseconds.")
    var maxP50Us: Double? = nil

    @Flag(name: .long, help: "Print one JSON object on standard output (the human summary goes to standard error).")
    var json = false

    @Flag(name: .long, help: "No progress lines on standard error.")
    var quiet = false

    func validate() throws {
        guard routes >= 2 else { throw ValidationError("--routes must be at least 2") }
        guard changes >= 1 else { throw ValidationError("--changes must be at least 1") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
        guard (1...64).contains(loops) else { throw ValidationError("--loops must be from 1 to 64") }
        guard IOBackendChoice(rawValue: ioBackend) != nil else { throw ValidationError("--io-backend must be uring, epoll or auto") }
        guard portBase >= 1024, portBase + routes + 100 <= 65535 else {
            throw ValidationError("--port-base \(portBase): the range \(portBase)-\(portBase + routes + 100) must lie within 1024-65535")
        }
        do { _ = try DurationText.parse(timeout) } catch { throw ValidationError("--timeout \(error)") }
        guard wait == "yield" || wait == "spin" else { throw ValidationError("--wait must be yield or spin") }
    }

    func run() throws {
        let d = DurationText.value(timeout) ?? .seconds(5)
        let timeoutNanoseconds = d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
        let settings = RouteBenchRun.Settings(
            routes: routes, changes: changes, warmup: warmup, loops: loops, backend: IOBackendChoice(rawValue: ioBackend)!,
            portRange: UInt16(portBase)...UInt16(portBase + routes + 100), timeoutNanoseconds: timeoutNanoseconds,
            yieldWhileWaiting: wait == "yield", quiet: quiet)
        let result = RouteBenchRun(settings).run()
        if json {
            print(result.json)
            if !quiet { for line in result.humanLines { StandardError.line(line) } }
        } else {
            for line in result.humanLines { print(line) }
        }
        fflush(stdout)
        if !result.ok {
            StandardError.line("meshgate-route-bench: failed: " + result.errors.prefix(5).joined(separator: "; "))
            throw ExitCode(2)
        }
        if let limit = maxP50Us, let total = result.total, total.p50 > limit {
            StandardError.line("meshgate-route-bench: total p50 \(JSON.number(total.p50)) µs exceeds --max-p50-us \(JSON.number(limit))")
            throw ExitCode(3)
        }
    }
}
