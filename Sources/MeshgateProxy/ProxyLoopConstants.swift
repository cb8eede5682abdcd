#if canImport(Glibc)
import Glibc
#endif
import MeshgateLoop

/// Constants of `ProxyLoop` (generic types cannot hold static stored properties).
enum ProxyLoopConstants {
    static let acceptToken = Token(kind: .accept, slot: 0, generation: 0)
    static let singleAcceptToken = Token(kind: .accept, slot: 0, generation: 1)
    /// Below this many free connection slots, accept one connection at a time.
    static let multishotHeadroom = 64
    static let sweepTimer = Token(kind: .timer, slot: 1, generation: 0)
    static let resumeTimer = Token(kind: .timer, slot: 2, generation: 0)
    /// How often a loop paused at its descriptor share looks whether one below the ceiling is free.
    static let reserveRecheck: Int64 = 100_000_000
    /// Bytes one direction may move in one turn before yielding to others.
    static let turnBudget = 1 << 20
    /// Kernel TLS connections quiet for longer than this, but busy within `kernelTLSPokeWithin`,
    /// are pumped every `kernelTLSPokeInterval` (missed wake-ups).
    /// Handshakes since a loop's last heap trim that make another worth its cost (a walk over
    /// the arenas' free lists: a few milliseconds for hundreds of MiB).
    static let handshakesPerHeapTrim: UInt64 = 512
    static let kernelTLSPokeTimer = Token(kind: .timer, slot: 3, generation: 0)
    static let kernelTLSPokeInterval: Int64 = 250_000_000
    static let kernelTLSPokeAfter: Int64 = 200_000_000
    static let kernelTLSPokeWithin: Int64 = 30_000_000_000
    /// One full TLS record with header and AEAD overhead, plus slack.
    static let tlsScratchSize = 16 * 1024 + 512
    /// Accepted clients a loop may hold beyond the connection limit before resetting more.
    static let maxWaitingClients = 4096
    static let toUpstreamOffset = MemoryLayout<Connection>.offset(of: \Connection.toUpstream)!
    static let toDownstreamOffset = MemoryLayout<Connection>.offset(of: \Connection.toDownstream)!
}
