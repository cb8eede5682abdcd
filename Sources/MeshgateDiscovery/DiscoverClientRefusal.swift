import MeshgateWire

/// Why a mirror ends a discover stream itself: the serving gateway broke a rule of the stream
/// (docs/wire.md, "The discover stream"; docs/links.md for the limits). What arrived before the
/// offending frame is still applied.
public enum DiscoverClientRefusal: Error, Hashable, Sendable, CustomStringConvertible {
    /// Bytes that are not a frame (the codec's reason), a frame over the size limit among them.
    case malformedFrame(DiscoveryFrameError)
    /// A `snapshotBegin` of generation `began` while snapshot `open` was still open.
    case snapshotInsideSnapshot(began: UInt64, open: UInt64)
    /// A `snapshotEnd` with no snapshot open.
    case snapshotEndWithoutBegin
    /// An `upsert` or `remove` before the stream's first snapshot began.
    case updateBeforeSnapshot
    /// More updates than `perSecond` a second (bursts of `perSecond × 10`): links
    /// `limits.updatesPerSecond`.
    case overRate(perSecond: Int)

    public var description: String {
        switch self {
        case .malformedFrame(let error): "sent a malformed frame (\(error)); closed by us"
        case .snapshotInsideSnapshot(let began, let open): "began snapshot \(began) inside snapshot \(open); closed by us"
        case .snapshotEndWithoutBegin: "ended a snapshot it never began; closed by us"
        case .updateBeforeSnapshot: "sent an update before its first snapshot; closed by us"
        case .overRate(let perSecond):
            "sent more than \(perSecond) updates a second (links limits.updatesPerSecond, bursts of \(perSecond * 10)); closed by us"
        }
    }
}
