/// What an operation is for; stored in the top byte of a `Token`.
public enum OperationKind: UInt8, Sendable {
    /// Ignored completions (cancellations, closes).
    case none = 0
    /// A multishot accept on a listener; `slot` is the listener index.
    case accept = 1
    /// A connect on an upstream socket.
    case connect = 2
    /// Readiness of the connection's downstream (client-facing) socket.
    case downstreamReady = 3
    /// Readiness of the connection's upstream socket.
    case upstreamReady = 4
    /// A timer; `slot` says which.
    case timer = 5
    /// A cross-thread wake-up.
    case wake = 6
    /// Readiness of a socket owned by a connection's extension (TLS phases use this).
    case auxReady = 7
}

/// The 64-bit `user_data` of an operation: slot index (32 bits), slot generation (24 bits)
/// and operation kind (8 bits). A completion whose generation no longer matches its slot is
/// stale (the slot was reused) and is dropped.
public struct Token: Hashable, Sendable, CustomStringConvertible {
    /// The packed value handed to the kernel.
    public let raw: UInt64

    @inline(__always)
    public init(raw: UInt64) { self.raw = raw }

    @inline(__always)
    public init(kind: OperationKind, slot: UInt32, generation: UInt32) {
        raw = UInt64(kind.rawValue) << 56 | UInt64(generation & 0xFF_FFFF) << 32 | UInt64(slot)
    }

    /// The operation kind; `.none` for unknown values.
    @inline(__always)
    public var kind: OperationKind { OperationKind(rawValue: UInt8(truncatingIfNeeded: raw >> 56)) ?? .none }
    /// The slot index.
    @inline(__always)
    public var slot: UInt32 { UInt32(truncatingIfNeeded: raw) }
    /// The slot generation (24 bits).
    @inline(__always)
    public var generation: UInt32 { UInt32(truncatingIfNeeded: raw >> 32) & 0xFF_FFFF }

    /// A token whose completions are always ignored.
    public static let ignored = Token(raw: 0)

    public var description: String { "Token(\(kind), slot: \(slot), gen: \(generation))" }
}
