import ArgumentParser

/// `meshgate-bench`: load scenarios against a target (a proxy or a backend), and test backends.
struct MeshgateBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meshgate-bench",
        abstract: "Load harness for meshgate: throughput, connection rate, latency and idle-memory scenarios.",
        discussion: """
            The scenarios start nothing themselves: point --target at a proxy (or a backend directly) that \
            forwards to a backend started with `meshgate-bench backend`. Use sink (throughput up), source \
            (throughput down) or echo (connrate, pingpong, idle) backends. See docs/benchmarks.md.
            """,
        subcommands: [
            BackendCommand.self, ThroughputCommand.self, ConnRateCommand.self, PingPongCommand.self,
            IdleCommand.self, IntegrityCommand.self,
        ]
    )
}
