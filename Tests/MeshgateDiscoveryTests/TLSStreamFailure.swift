import MeshgateTLS
import Testing

@testable import MeshgateDiscovery

/// A `TLSStream` call that must fail: the error it threw and how long it took to fail.
struct TLSStreamFailure {
    let error: TLSStreamError
    let took: Duration

    /// Runs `call`, timing it from `started`; if it returns instead of failing, records
    /// `succeeded(result)` as an issue and throws (`#require`).
    static func of<Result>(
        _ call: () throws(TLSStreamError) -> Result, started: ContinuousClock.Instant = .now,
        otherwise succeeded: (Result) -> Comment, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> TLSStreamFailure {
        var caught: TLSStreamError?
        do {
            let result = try call()
            Issue.record(succeeded(result), sourceLocation: sourceLocation)
        } catch {
            caught = error
        }
        let took = ContinuousClock.now - started
        let error = try #require(caught, sourceLocation: sourceLocation)
        return TLSStreamFailure(error: error, took: took)
    }

    /// `(error, took)`, to bind both at once.
    var pair: (error: TLSStreamError, took: Duration) { (error, took) }
}
