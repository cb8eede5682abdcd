extension BackendServer {
    /// What a backend does with each connection.
    public enum Behavior: Sendable, Equatable, CustomStringConvertible {
        /// Echo bytes back; on the client's EOF, flush, shut down the write side, then close.
        case echo
        /// Read to EOF (counting bytes and hashing them), then send this many deterministic bytes
        /// (`PatternStream(seed: BackendServer.replySeed)`), then close.
        case drainThenReply(Int)
        /// Read; once at least this many bytes have arrived, close with `SO_LINGER {1, 0}` (a reset).
        /// `resetAfter(0)` resets right after accepting.
        case resetAfter(Int)
        /// Discard everything; close on EOF.
        case sink
        /// Send an endless stream until the peer closes; whatever arrives is discarded.
        case source
        /// Echo 64-byte (or any) messages back; the same as `echo`, named for latency tests.
        case pingPong
        /// Read and discard, and never close, not even on EOF (until `stop()`): for timeout tests.
        case hold

        /// Parses `echo`, `sink`, `source`, `pingpong`, `hold`, `drain:N` or `reset:N`.
        public static func parse(_ text: String) -> Behavior? {
            let lower = text.lowercased()
            switch lower {
            case "echo": return .echo
            case "sink": return .sink
            case "source": return .source
            case "pingpong", "ping-pong": return .pingPong
            case "hold": return .hold
            default: break
            }
            let parts = lower.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let n = Int(parts[1]), n >= 0 else { return nil }
            switch parts[0] {
            case "drain", "drainthenreply": return .drainThenReply(n)
            case "reset", "resetafter": return .resetAfter(n)
            default: return nil
            }
        }

        /// The text `parse` accepts.
        public var description: String {
            switch self {
            case .echo: return "echo"
            case .sink: return "sink"
            case .source: return "source"
            case .pingPong: return "pingpong"
            case .hold: return "hold"
            case .drainThenReply(let n): return "drain:\(n)"
            case .resetAfter(let n): return "reset:\(n)"
            }
        }
    }
}
