import ArgumentParser
import MeshgateLoad

#if canImport(Glibc)
import Glibc
import MeshgateNames
#endif

/// Options every scenario takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "The proxy (or backend) to load, HOST:PORT or [V6]:PORT.")
    var target: String

    @Option(name: .long, help: "How long to run, e.g. 5s, 500ms.")
    var duration: String = "5s"

    @Flag(name: .long, help: "Print one JSON object instead of a table row.")
    var json = false

    @Option(name: .long, help: "Client engine threads (connections are spread over them).")
    var clientThreads: Int = 1

    @Flag(name: .long, help: "No progress lines on standard error.")
    var quiet = false

    func validate() throws {
        _ = try options()
    }

    /// The parsed settings.
    func options() throws -> BenchOptions {
        let endpoint: Endpoint
        do { endpoint = try Endpoint.parse(target) } catch { throw ValidationError("--target: \(error)") }
        let d = try durationFlag("duration", duration, positive: true)
        guard (1...64).contains(clientThreads) else { throw ValidationError("--client-threads must be from 1 to 64") }
        return BenchOptions(target: endpoint, duration: d, clientThreads: clientThreads, quiet: quiet)
    }

    /// Prints `result` as a row or JSON; exits with status 2 when the scenario measured nothing.
    func report(_ result: BenchResult) throws {
        print(json ? result.json : result.tableRow)
        fflush(stdout)
        if result.fatal {
            let why = result.errors.first ?? "no successful operation"
            FileHandleOutput.standardError("meshgate-bench: \(result.scenario) against \(result.target) failed: \(why)")
            throw ExitCode(2)
        }
    }
}

/// Writing lines to standard error.
enum FileHandleOutput {
    static func standardError(_ line: String) {
        _ = (line + "\n").withCString { fputs($0, stderr) }
    }
}
