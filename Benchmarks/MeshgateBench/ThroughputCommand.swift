import ArgumentParser
import MeshgateLoad

/// `meshgate-bench throughput`.
struct ThroughputCommand: ParsableCommand {
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

    func run() throws {
        guard streams >= 1 else { throw ValidationError("--streams must be at least 1") }
        guard let dir = ThroughputBench.Direction(rawValue: direction) else { throw ValidationError("--direction must be up or down") }
        guard ioSize >= 1 else { throw ValidationError("--io-size must be at least 1") }
        try common.report(ThroughputBench.run(try common.options(), streams: streams, direction: dir, ioSize: ioSize))
    }
}
