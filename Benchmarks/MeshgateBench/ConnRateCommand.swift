import ArgumentParser
import MeshgateLoad

/// `meshgate-bench connrate`.
struct ConnRateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connrate",
        abstract: "Connect, send 1 byte, read the echo, close, repeat (echo backend); connections/s and failures.")

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "Connections in flight at once.")
    var concurrency: Int = 16

    func run() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        try common.report(ConnRateBench.run(try common.options(), concurrency: concurrency))
    }
}
