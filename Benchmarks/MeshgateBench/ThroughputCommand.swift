import ArgumentParser
import MeshgateLoad

/// `meshgate-bench throughput`.
struct ThroughputCommand: ScenarioCommand {
    static let configuration = CommandConfiguration(
        commandName: "throughput",
        abstract: "Bulk transfer for the duration: up to a sink backend, or down from a source backend; Gbit/s and MiB/s.")

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "Concurrent streams.")
    var streams: Int = 1

    @Option(name: .long, help: "up (client sends; sink backend) or down (client receives; source backend).")
    var direction: String = "up"

    @Option(name: .long, help: "Bytes per send/recv call.")
    var ioSize: Int = 256 * 1024

    func measure(_ options: BenchOptions) throws -> BenchResult {
        try requireAtLeastOne(streams, "streams")
        guard let dir = ThroughputBench.Direction(rawValue: direction) else { throw ValidationError("--direction must be up or down") }
        try requireAtLeastOne(ioSize, "io-size")
        return ThroughputBench.run(options, streams: streams, direction: dir, ioSize: ioSize)
    }
}
