import MeshgateNames
import MeshgateTLS

/// Who may use the inbound port once TLS has verified the peer (docs/gateway.md, "Who is
/// accepted"). Read at start.
public struct InboundPolicy: Sendable, Hashable {
    /// Accept any identity the trust bundle vouches for (the behaviour before this policy
    /// existed); otherwise only gateway identities (`meshgate-<cluster>/gateway`) and, per
    /// service, identities its `allow:` list names.
    public var acceptWorkloads: Bool
    /// Who may open `discover` streams, and how many.
    public var discover: DiscoverPolicy

    /// The default: gateways, plus identities a service's `allow:` names.
    public init(acceptWorkloads: Bool = false, discover: DiscoverPolicy = DiscoverPolicy()) {
        self.acceptWorkloads = acceptWorkloads
        self.discover = discover
    }

    /// Whether `peer` may connect to `service` under this policy (the service's own allow
    /// list is checked separately): a gateway identity, or one the allow list names.
    public func admits(_ peer: WorkloadIdentity?, to service: ExportedService) -> Bool {
        if acceptWorkloads { return true }
        guard let peer else { return false }
        if peer.isGateway { return true }
        return service.allowed?.contains(peer) ?? false
    }
}

/// Who may open `discover` streams (`inbound.discover` in gateway.yaml).
public struct DiscoverPolicy: Sendable, Hashable {
    /// Which identities may ask.
    public enum Allow: String, Sendable, Hashable, CaseIterable {
        /// Gateway identities only (`meshgate-<cluster>/gateway`), asking as their own cluster.
        case gateways
        /// Any identity the trust bundle vouches for (a gateway identity still asks as its own cluster).
        case any
    }

    /// Which identities may ask.
    public var allow: Allow
    /// Streams one identity may hold open at once.
    public var perIdentity: Int

    /// The default: gateways only, 4 streams each.
    public init(allow: Allow = .gateways, perIdentity: Int = 4) {
        self.allow = allow
        self.perIdentity = perIdentity
    }
}
