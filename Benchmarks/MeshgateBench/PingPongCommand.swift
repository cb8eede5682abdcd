import ArgumentParser
import MeshgateLoad

/// `meshgate-bench pingpong`.
struct PingPongCommand: ScenarioCommand {
    static let configuration = CommandConfiguration(
        commandName: "pingpong",
        abstract: "Request/response latency against an echo backend; p50/p99/p99.9/max in µs and requests/s.")

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "Connections, each with one request outstanding.")
    var concurrency: Int = 1

    @Option(name: .long, help: "Message size in bytes.")
    var size: Int = 64

    func measure(_ options: BenchOptions) throws -> BenchResult {
        try requireAtLeastOne(concurrency, "concurrency")
        guard (1...(1 << 20)).contains(size) else { throw ValidationError("--size must be from 1 to 1048576") }
        return PingPongBench.run(options, concurrency: concurrency, size: size)
    }
}
