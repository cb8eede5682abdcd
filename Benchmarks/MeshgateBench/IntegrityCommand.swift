import ArgumentParser
import MeshgateLoad

/// `meshgate-bench integrity`: the `IntegrityRun` check from the command line.
struct IntegrityCommand: ScenarioCommand {
    static let configuration = CommandConfiguration(
        commandName: "integrity",
        abstract: "Send pattern bytes on N connections through an echo path and compare SHA-256 both ways.")

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "Connections in total.")
    var connections: Int = 200

    @Option(name: .long, help: "Connections open at once (default: all).")
    var concurrency: Int?

    @Option(name: .long, help: "Largest size; each connection sends a random size from 0 to this.")
    var maxSize: Int = 256 * 1024

    @Option(name: .long, help: "Every connection sends exactly this many bytes (overrides --max-size).")
    var size: Int?

    func measure(_ options: BenchOptions) throws -> BenchResult {
        guard connections >= 1, maxSize >= 0 else { throw ValidationError("--connections and --max-size must be positive") }
        if let size, size < 0 { throw ValidationError("--size must not be negative") }
        var generator = SystemRandomNumberGenerator()
        let sizes = (0..<connections).map { _ in size ?? Int.random(in: 0...maxSize, using: &generator) }
        let report = IntegrityRun.run(target: options.target, sizes: sizes, concurrency: concurrency ?? connections,
                                      deadline: max(options.duration, .seconds(30)))
        var result = BenchResult(
            scenario: "integrity", target: options.target.description,
            params: [("connections", String(connections)), size.map { ("size", String($0)) } ?? ("max_size", String(maxSize))],
            results: [("ok", Double(report.ok)), ("mismatches", Double(report.mismatches)),
                      ("failures", Double(report.failures)), ("resets", Double(report.resets)),
                      ("bytes_each_way", Double(report.bytesEachWay))],
            errors: report.failureSamples)
        result.fatal = !report.allOK
        return result
    }
}
