import MeshgateNames

/// One benchmark run's outcome: what ran, against what, with which parameters, and the numbers.
/// Parameters and results keep their order, for a stable table row and JSON object.
public struct BenchResult: Sendable {
    /// Scenario name, e.g. `throughput`.
    public var scenario: String
    /// The target endpoint, as given.
    public var target: String
    /// Parameters in display order.
    public var params: [(String, String)]
    /// Measured values in display order (units are in the names: `gbps`, `p99_us`, ...).
    public var results: [(String, Double)]
    /// Problems worth reporting (sampled); a run with `fatal` set measured nothing useful.
    public var errors: [String]
    /// True when the scenario could not do its job (e.g. no connection ever succeeded).
    public var fatal: Bool

    public init(scenario: String, target: String, params: [(String, String)] = [], results: [(String, Double)] = [],
                errors: [String] = [], fatal: Bool = false) {
        self.scenario = scenario
        self.target = target
        self.params = params
        self.results = results
        self.errors = errors
        self.fatal = fatal
    }

    /// This result marked fatal, with `error` as its only error: the scenario could not run.
    public func failing(_ error: String) -> BenchResult {
        var failed = self
        failed.errors = [error]
        failed.fatal = true
        return failed
    }

    /// The value of result `name`, if present.
    public subscript(result name: String) -> Double? {
        results.first { $0.0 == name }?.1
    }

    /// A one-line, human-readable row: `scenario target | params | results`.
    public var tableRow: String {
        let p = params.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        let r = results.map { "\($0.0)=\(Self.format($0.1))" }.joined(separator: " ")
        var row = "\(scenario.padding(10)) \(target.padding(21)) | \(p) | \(r)"
        if !errors.isEmpty { row += " | errors: " + errors.prefix(3).joined(separator: "; ") }
        return row
    }

    /// A single-line JSON object: `{"scenario":…,"target":…,"params":{…},"results":{…},"errors":[…],"ok":…}`.
    public var json: String {
        let p = params.map { "\(JSONString.quoted($0.0)):\(JSONString.quoted($0.1))" }.joined(separator: ",")
        let r = results.map { "\(JSONString.quoted($0.0)):\(Self.jsonNumber($0.1))" }.joined(separator: ",")
        let e = errors.map(JSONString.quoted).joined(separator: ",")
        return "{\"scenario\":\(JSONString.quoted(scenario)),\"target\":\(JSONString.quoted(target)),\"params\":{\(p)},\"results\":{\(r)},\"errors\":[\(e)],\"ok\":\(!fatal)}"
    }

    /// A number with at most 3 decimals and no trailing zeros.
    static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        let scaled = (v * 1000).rounded() / 1000
        return String(scaled)
    }

    /// `v` as a JSON number (`format`), or `null` when it is not finite.
    static func jsonNumber(_ v: Double) -> String {
        v.isFinite ? format(v) : "null"
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
