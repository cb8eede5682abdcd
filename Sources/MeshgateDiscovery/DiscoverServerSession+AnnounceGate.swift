extension DiscoverServerSession {
    /// When a discover stream may announce a route-table generation (docs/links.md): once every
    /// proxy loop runs it, so that a peer acting on the announcement reaches a loop that knows
    /// the service; or, should the loops not have run it within `bound` of the stream first
    /// holding an announcement back, anyway (a wedged loop must not silence discovery). No I/O
    /// and no clock of its own: the caller says what the loops run and what time it is.
    public struct AnnounceGate: Sendable {
        /// What to do with a generation the peer has not been told about yet.
        public enum Decision: Equatable, Sendable {
            /// Announce it; `late` when the loops still do not all run it (the bound passed).
            case announce(late: Bool)
            /// Hold it back until every loop runs it, at the latest until `until`.
            case hold(until: ContinuousClock.Instant)
        }

        /// How long an announcement is held back at most.
        public let bound: Duration
        /// Since when an announcement has been held back; nil when none is.
        public private(set) var heldSince: ContinuousClock.Instant?

        /// A gate holding announcements back for at most `bound`.
        public init(bound: Duration) {
            self.bound = bound
        }

        /// Whether to announce `generation` now, when every loop runs `appliedByAllLoops` or a
        /// later one. The bound runs from the first hold and is kept across newer generations,
        /// so a table that keeps changing cannot hold announcements back for longer either.
        public mutating func decide(generation: UInt64, appliedByAllLoops: UInt64, now: ContinuousClock.Instant) -> Decision {
            if appliedByAllLoops >= generation {
                heldSince = nil
                return .announce(late: false)
            }
            let since = heldSince ?? now
            guard now - since < bound else {
                heldSince = nil
                return .announce(late: true)
            }
            heldSince = since
            return .hold(until: since + bound)
        }
    }

    /// A keepalive frame (what a stream sends while nothing else is due).
    public static var keepalive: [UInt8] { frame(.keepalive) }
}
