import MeshgateNames
import MeshgateProxy

extension DiscoverServerSession {
    /// Which streams a discovery server takes (docs/gateway-config.md, `inbound.discover`):
    /// who may ask as which cluster, then how many streams each identity and all together may
    /// hold. Counts the streams it admitted until they are released; the caller serializes.
    public struct Admission: Sendable {
        /// Who may ask, and how many streams each identity may hold.
        public let policy: DiscoverPolicy
        /// Streams served at once at most.
        public let maxStreams: Int
        /// Streams admitted and not yet released.
        public private(set) var open = 0
        /// Open streams per peer identity (SPIFFE URI; "" for none).
        private var perPeer: [String: Int] = [:]

        public init(policy: DiscoverPolicy, maxStreams: Int) {
            self.policy = policy
            self.maxStreams = maxStreams
        }

        /// Why `peer` may not ask as `cluster`, or nil when it may (before any limit): a gateway
        /// identity asks as its own cluster; another identity only under `allow: any`.
        public func refusal(peer: WorkloadIdentity?, cluster: String) -> DiscoverRefusal? {
            guard let peer else { return .notGateway }
            if let own = peer.gatewayCluster {
                return own == cluster ? nil : .clusterMismatch
            }
            return policy.allow == .any ? nil : .notGateway
        }

        /// Admits a stream of `peer` asking as `cluster` (counted until `release(peer:)`), or
        /// says why not; `stopping` refuses every stream the policy allows.
        public mutating func admit(peer: WorkloadIdentity?, cluster: String, stopping: Bool) -> DiscoverRefusal? {
            if let refused = refusal(peer: peer, cluster: cluster) { return refused }
            let key = Self.key(peer)
            if stopping { return .stopping }
            if open >= maxStreams { return .limit }
            if perPeer[key, default: 0] >= policy.perIdentity { return .perIdentityLimit }
            open += 1
            perPeer[key, default: 0] += 1
            return nil
        }

        /// A stream `admit` took has ended.
        public mutating func release(peer: WorkloadIdentity?) {
            let key = Self.key(peer)
            guard let n = perPeer[key] else { return }
            if n > 1 { perPeer[key] = n - 1 } else { perPeer.removeValue(forKey: key) }
            open -= 1
        }

        /// Open streams of `peer`.
        public func streams(of peer: WorkloadIdentity?) -> Int { perPeer[Self.key(peer)] ?? 0 }

        /// Why a refused stream was refused, for the log.
        public func explanation(_ refused: DiscoverRefusal, peer: WorkloadIdentity?) -> String {
            switch refused {
            case .notGateway: "not a gateway identity (inbound.discover.allow: \(policy.allow.rawValue))"
            case .clusterMismatch: "a gateway identity of cluster \(peer?.gatewayCluster ?? "?") may only ask as that cluster"
            case .perIdentityLimit: "\(policy.perIdentity) streams of this identity are open (inbound.discover.perIdentity)"
            case .limit, .stopping: "\(maxStreams) streams are open"
            }
        }

        private static func key(_ peer: WorkloadIdentity?) -> String { peer?.spiffeURI ?? "" }
    }
}
