/// Why a discover stream was refused (counted per reason, logged once a second per reason).
public enum DiscoverRefusal: Int, CaseIterable, Sendable {
    /// The peer is not a gateway identity and `inbound.discover.allow` is `gateways`.
    case notGateway
    /// A gateway identity asked as another cluster than its own.
    case clusterMismatch
    /// The peer already holds `inbound.discover.perIdentity` streams.
    case perIdentityLimit
    /// `maxStreams` streams are open.
    case limit
    /// The server is stopping.
    case stopping

    /// The reasons that are counted in `/status` (stopping is not a refusal of the peer).
    public static let counted: [DiscoverRefusal] = [.notGateway, .clusterMismatch, .perIdentityLimit, .limit]

    /// The counter in `/status`: `gateway_refused_discover_<key>`.
    public var counterKey: String { "gateway_refused_discover_\(key)" }

    /// The reason as logs and counters spell it.
    public var key: String {
        switch self {
        case .notGateway: "not_gateway"
        case .clusterMismatch: "cluster_mismatch"
        case .perIdentityLimit: "per_identity_limit"
        case .limit: "limit"
        case .stopping: "stopping"
        }
    }
}
