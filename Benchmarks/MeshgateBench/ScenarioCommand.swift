import ArgumentParser
import MeshgateLoad

/// A load scenario subcommand: the ``CommonOptions`` plus its own, a measurement, and the one
/// way every scenario reports (a table row or JSON; exit status 2 when it measured nothing).
protocol ScenarioCommand: ParsableCommand {
    /// The options every scenario takes (declared `@OptionGroup var common: CommonOptions`).
    var common: CommonOptions { get }
    /// Checks the scenario's own options (a `ValidationError` names the flag), then runs it
    /// against `options.target`.
    func measure(_ options: BenchOptions) throws -> BenchResult
}

extension ScenarioCommand {
    func run() throws {
        try common.report(measure(common.options()))
    }
}

/// A usage error `--FLAG must be at least 1` unless `value` is.
func requireAtLeastOne(_ value: Int, _ flag: String) throws {
    guard value >= 1 else { throw ValidationError("--\(flag) must be at least 1") }
}
