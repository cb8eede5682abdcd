import ArgumentParser
import MeshgateLoad

/// `meshgate-bench pingpong`.
struct PingPongCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pingpong",
        abstract: "Request/response latency against an echo backend; p50/p99/p99.9/max in µs and requests/s.")

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "Connections, each with one request outstanding.")
    var concurrency: Int = 1

    @Option(name: .long, help: "Message size in bytes.")
    var size: Int = 64

    func run() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard (1...(1 << 20)).contains(size) else { throw ValidationError("--size must be from 1 to 1048576") }
        try common.report(PingPongBench.run(try common.options(), concurrency: concurrency, size: size))
    }
}
