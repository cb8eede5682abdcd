import MeshgateNames
/// Settings every benchmark scenario shares.
public struct BenchOptions: Sendable {
    /// Where the load goes: a proxy, or a backend directly.
    public var target: Endpoint
    /// How long the measurement runs.
    public var duration: Duration
    /// Client engine threads; connections are spread over them.
    public var clientThreads: Int
    /// No progress lines on standard error.
    public var quiet: Bool

    public init(target: Endpoint, duration: Duration = .seconds(5), clientThreads: Int = 1, quiet: Bool = false) {
        self.target = target
        self.duration = duration
        self.clientThreads = max(1, clientThreads)
        self.quiet = quiet
    }

    /// Parameters every result carries.
    var commonParams: [(String, String)] {
        [("duration", DurationText.format(duration)), ("client_threads", String(clientThreads))]
    }

    /// How many of `total` items thread `index` of `clientThreads` gets (spread evenly).
    func share(of total: Int, thread index: Int) -> Int {
        total / clientThreads + (index < total % clientThreads ? 1 : 0)
    }

    /// The thread count actually used for `total` connections (no idle threads).
    func threads(for total: Int) -> Int {
        max(1, min(clientThreads, total))
    }
}

/// Errors collected by a scenario's threads: a count and the first few messages.
struct ErrorSamples {
    var count = 0
    var samples: [String] = []

    mutating func add(_ text: String) {
        count += 1
        if samples.count < 5, !samples.contains(text) { samples.append(text) }
    }

    mutating func merge(_ other: ErrorSamples) {
        count += other.count
        for s in other.samples where samples.count < 5 && !samples.contains(s) { samples.append(s) }
    }
}
