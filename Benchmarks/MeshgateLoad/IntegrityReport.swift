/// The outcome of an `IntegrityRun`. Every connection ends up in exactly one of `ok`, `mismatches`
/// and `failures`, so `ok + mismatches + failures == connections`.
public struct IntegrityReport: Sendable, CustomStringConvertible {
    /// Connections attempted (the number of sizes).
    public var connections: Int
    /// Connections whose answer had the right length and the right SHA-256.
    public var ok: Int
    /// Connections whose answer had the right length but a different SHA-256.
    public var mismatches: Int
    /// Connections that failed: connect error, reset, short or extra answer, deadline. Includes `resets`.
    public var failures: Int
    /// How many of the `failures` were resets (ECONNRESET/EPIPE).
    public var resets: Int
    /// Up to 10 descriptions of failures and mismatches, for test output.
    public var failureSamples: [String]
    /// Total bytes sent (and, when all is well, received): the sum of the sizes.
    public var bytesEachWay: Int64

    public init(connections: Int = 0, ok: Int = 0, mismatches: Int = 0, failures: Int = 0, resets: Int = 0,
                failureSamples: [String] = [], bytesEachWay: Int64 = 0) {
        self.connections = connections
        self.ok = ok
        self.mismatches = mismatches
        self.failures = failures
        self.resets = resets
        self.failureSamples = failureSamples
        self.bytesEachWay = bytesEachWay
    }

    /// True when every connection came back intact.
    public var allOK: Bool { ok == connections && mismatches == 0 && failures == 0 }

    public var description: String {
        var s = "\(connections) connections: \(ok) ok, \(mismatches) mismatches, \(failures) failures (\(resets) resets), \(bytesEachWay) bytes each way"
        if !failureSamples.isEmpty { s += "; e.g. " + failureSamples.prefix(3).joined(separator: "; ") }
        return s
    }

    static let sampleLimit = 10

    mutating func addSample(_ text: String) {
        if failureSamples.count < Self.sampleLimit { failureSamples.append(text) }
    }
}
