import ArgumentParser
import MeshgateLoad
import MeshgateNames

/// `meshgate-bench idle`.
struct IdleCommand: ScenarioCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "Hold N idle connections (echo backend) and report the RSS growth of --pid per connection.",
        discussion: "--duration bounds nothing here; opening is bounded by --open-timeout.")

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "Idle connections to open.")
    var connections: Int = 5000

    @Option(name: .long, help: ArgumentHelp(
        "Process whose VmRSS to measure (the proxy); repeat it for a chain of proxies (the RSS is summed).",
        valueName: "pid"))
    var pid: [Int32] = []

    @Option(name: .long, help: "Wait after opening, before measuring.")
    var settle: String = "1s"

    @Option(name: .long, help: "Connections being opened at once.")
    var openConcurrency: Int = 256

    @Option(name: .long, help: "Time allowed for opening all connections.")
    var openTimeout: String = "60s"

    func measure(_ options: BenchOptions) throws -> BenchResult {
        try requireAtLeastOne(connections, "connections")
        let settleTime = try durationFlag("settle", settle)
        let open = try durationFlag("open-timeout", openTimeout, positive: true)
        try requireAtLeastOne(openConcurrency, "open-concurrency")
        return IdleBench.run(options, connections: connections, pids: pid, settle: settleTime,
                             openConcurrency: openConcurrency, openTimeout: open)
    }
}
