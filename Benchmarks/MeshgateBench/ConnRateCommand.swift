import ArgumentParser
import MeshgateLoad

/// `meshgate-bench connrate`.
struct ConnRateCommand: ScenarioCommand {
    static let configuration = CommandConfiguration(
        commandName: "connrate",
        abstract: "Connect, send 1 byte, read the echo, close, repeat (echo backend); connections/s and failures.")

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "Connections in flight at once.")
    var concurrency: Int = 16

    func measure(_ options: BenchOptions) throws -> BenchResult {
        try requireAtLeastOne(concurrency, "concurrency")
        return ConnRateBench.run(options, concurrency: concurrency)
    }
}
