import Atomics

/// Counters one loop keeps. Written only by the owning loop thread (single writer, relaxed
/// load+store, so no locked instructions on the hot path); read by any thread for reports.
public final class ProxyCounters: Sendable {
    /// The loop's latency histograms and path counts (same single-writer rule).
    let traffic = LoopTrafficStats()
    /// The counters, in report order.
    public enum Name: Int, CaseIterable, Sendable {
        case accepted, active, bytesDownstreamToUpstream, bytesUpstreamToDownstream
        case connectFailures, upstreamFailovers, upstreamsExhausted, connectTimeouts
        case resetsFromDownstream, resetsFromUpstream, idleTimeouts, closedOk
        case acceptPausesDescriptors, acceptPausesLimit, refusedOverLimit, refusedDraining
        case refusedDescriptorReserve
        case socketFailures, descriptorWaits, pipesInUse, buffersInUse, copyPathTransfers, forcedCloses
        case bytesSpliced, bytesUserspace
        case tlsHandshakesDownstream, tlsHandshakesUpstream, tlsSessionsResumed, tlsSessionsResumedDownstream, tlsHandshakesActive
        case tlsRefusedDownstream, tlsRefusedUpstream
        case tlsRefusedNotTLS, tlsRefusedProtocolVersion, tlsRefusedNoCertificate, tlsRefusedUnknownCA
        case tlsRefusedCertificateExpired, tlsRefusedCertificateInvalid, tlsRefusedIdentity, tlsRefusedALPN
        case tlsRefusedIdentityIssuerMismatch
        case tlsRefusedHandshakeTimeout, tlsRefusedPeerAlert, tlsRefusedPeerClosed, tlsRefusedOther
        case tlsTruncated, tlsUserspaceSides, ktlsTXSides, ktlsRXSides, ktlsUnavailable, ktlsFailures
        case ktlsControlRecords, ktlsKeyUpdateCloses, tlsKeyUpdates, ktlsStallRecoveries
        case gatewayInbound, gatewayOutbound, gatewayProbesAnswered, gatewayRefused
        case gatewayRefusedBadHeader, gatewayRefusedHeaderTimeout, gatewayRefusedUnsupportedKind
        case gatewayRefusedUnknownService, gatewayRefusedNotExported, gatewayRefusedNotAllowed
        case gatewayRefusedNoEndpoint, gatewayRefusedLinkDown, gatewayDiscoverStreams
        case gatewayRefusedUnknownPort
        case gatewayPoolIdle, gatewayPoolOpening, gatewayPoolOpened, gatewayPoolHits, gatewayPoolMisses
        case gatewayPoolExpired, gatewayPoolClosedByPeer, gatewayPoolLost, gatewayPoolDrained, gatewayPoolFailed
        case gatewayPoolInboundIdle, gatewayPoolInboundHeld

        /// The name in JSON and log lines.
        public var key: String {
            switch self {
            case .accepted: "accepted"
            case .active: "active"
            case .bytesDownstreamToUpstream: "bytes_downstream_to_upstream"
            case .bytesUpstreamToDownstream: "bytes_upstream_to_downstream"
            case .connectFailures: "connect_failures"
            case .upstreamFailovers: "upstream_failovers"
            case .upstreamsExhausted: "upstreams_exhausted"
            case .connectTimeouts: "connect_timeouts"
            case .resetsFromDownstream: "resets_from_downstream"
            case .resetsFromUpstream: "resets_from_upstream"
            case .idleTimeouts: "idle_timeouts"
            case .closedOk: "closed_ok"
            case .acceptPausesDescriptors: "accept_pauses_emfile"
            case .acceptPausesLimit: "accept_pauses_max_connections"
            case .refusedOverLimit: "refused_over_limit"
            case .refusedDraining: "refused_draining"
            case .refusedDescriptorReserve: "refused_descriptor_reserve"
            case .socketFailures: "socket_failures"
            case .descriptorWaits: "descriptor_waits"
            case .pipesInUse: "pipes_in_use"
            case .buffersInUse: "buffers_in_use"
            case .copyPathTransfers: "copy_path_transfers"
            case .forcedCloses: "forced_closes"
            case .bytesSpliced: "bytes_spliced"
            case .bytesUserspace: "bytes_userspace"
            case .tlsHandshakesDownstream: "tls_handshakes_downstream"
            case .tlsHandshakesUpstream: "tls_handshakes_upstream"
            case .tlsSessionsResumed: "tls_sessions_resumed"
            case .tlsSessionsResumedDownstream: "tls_sessions_resumed_downstream"
            case .tlsHandshakesActive: "tls_handshakes_active"
            case .tlsRefusedDownstream: "tls_refused_downstream"
            case .tlsRefusedUpstream: "tls_refused_upstream"
            case .tlsRefusedNotTLS: "tls_refused_not_tls"
            case .tlsRefusedProtocolVersion: "tls_refused_protocol_version"
            case .tlsRefusedNoCertificate: "tls_refused_no_certificate"
            case .tlsRefusedUnknownCA: "tls_refused_unknown_ca"
            case .tlsRefusedCertificateExpired: "tls_refused_certificate_expired"
            case .tlsRefusedCertificateInvalid: "tls_refused_certificate_invalid"
            case .tlsRefusedIdentity: "tls_refused_identity"
            case .tlsRefusedALPN: "tls_refused_alpn"
            case .tlsRefusedIdentityIssuerMismatch: "tls_refused_identity_issuer_mismatch"
            case .tlsRefusedHandshakeTimeout: "tls_refused_handshake_timeout"
            case .tlsRefusedPeerAlert: "tls_refused_peer_alert"
            case .tlsRefusedPeerClosed: "tls_refused_peer_closed"
            case .tlsRefusedOther: "tls_refused_other"
            case .tlsTruncated: "tls_truncated"
            case .tlsUserspaceSides: "tls_userspace_sides"
            case .ktlsTXSides: "ktls_tx_sides"
            case .ktlsRXSides: "ktls_rx_sides"
            case .ktlsUnavailable: "ktls_unavailable"
            case .ktlsFailures: "ktls_failures"
            case .ktlsControlRecords: "ktls_control_records"
            case .ktlsKeyUpdateCloses: "ktls_key_update_closes"
            case .tlsKeyUpdates: "tls_key_updates"
            case .ktlsStallRecoveries: "ktls_stall_recoveries"
            case .gatewayInbound: "gateway_inbound_connections"
            case .gatewayOutbound: "gateway_outbound_connections"
            case .gatewayProbesAnswered: "gateway_probes_answered"
            case .gatewayRefused: "gateway_refused"
            case .gatewayRefusedBadHeader: "gateway_refused_bad_header"
            case .gatewayRefusedHeaderTimeout: "gateway_refused_header_timeout"
            case .gatewayRefusedUnsupportedKind: "gateway_refused_unsupported_kind"
            case .gatewayRefusedUnknownService: "gateway_refused_unknown_service"
            case .gatewayRefusedNotExported: "gateway_refused_not_exported"
            case .gatewayRefusedNotAllowed: "gateway_refused_not_allowed"
            case .gatewayRefusedNoEndpoint: "gateway_refused_no_endpoint"
            case .gatewayRefusedUnknownPort: "gateway_refused_unknown_port"
            case .gatewayRefusedLinkDown: "gateway_refused_link_down"
            case .gatewayDiscoverStreams: "gateway_discover_streams"
            case .gatewayPoolIdle: "gateway_pool_idle"
            case .gatewayPoolOpening: "gateway_pool_opening"
            case .gatewayPoolOpened: "gateway_pool_opened"
            case .gatewayPoolHits: "gateway_pool_hits"
            case .gatewayPoolMisses: "gateway_pool_misses"
            case .gatewayPoolExpired: "gateway_pool_expired"
            case .gatewayPoolClosedByPeer: "gateway_pool_closed_by_peer"
            case .gatewayPoolLost: "gateway_pool_lost"
            case .gatewayPoolDrained: "gateway_pool_drained"
            case .gatewayPoolFailed: "gateway_pool_failed"
            case .gatewayPoolInboundIdle: "gateway_pool_inbound_idle"
            case .gatewayPoolInboundHeld: "gateway_pool_inbound_held"
            }
        }

        /// Gauges go up and down; the others only grow.
        public var isGauge: Bool {
            self == .active || self == .pipesInUse || self == .buffersInUse || self == .tlsHandshakesActive
                || self == .gatewayPoolIdle || self == .gatewayPoolOpening || self == .gatewayPoolInboundIdle
        }
    }

    private let values: [ManagedAtomic<UInt64>]

    public init() {
        values = Name.allCases.map { _ in ManagedAtomic<UInt64>(0) }
    }

    /// Adds `n` (owning loop only).
    @inline(__always)
    public func add(_ name: Name, _ n: UInt64 = 1) {
        let a = values[name.rawValue]
        a.store(a.load(ordering: .relaxed) &+ n, ordering: .relaxed)
    }

    /// Subtracts `n` from a gauge (owning loop only).
    @inline(__always)
    public func subtract(_ name: Name, _ n: UInt64 = 1) {
        let a = values[name.rawValue]
        a.store(a.load(ordering: .relaxed) &- n, ordering: .relaxed)
    }

    /// The current value (any thread).
    public func value(_ name: Name) -> UInt64 {
        values[name.rawValue].load(ordering: .relaxed)
    }
}

/// A point-in-time sum of all loops' counters.
public struct ProxyStatsSnapshot: Sendable, Equatable {
    /// Counter values by `ProxyCounters.Name.key`.
    public var values: [String: UInt64]

    /// Sums `loops`.
    public init(loops: [ProxyCounters]) {
        var v: [String: UInt64] = [:]
        for name in ProxyCounters.Name.allCases {
            v[name.key] = loops.reduce(0) { $0 &+ $1.value(name) }
        }
        values = v
    }

    /// The value for `name`.
    public subscript(_ name: ProxyCounters.Name) -> UInt64 { values[name.key] ?? 0 }

    /// One line, `key=value` pairs in a stable order.
    public var logLine: String {
        ProxyCounters.Name.allCases.map { "\($0.key)=\(values[$0.key] ?? 0)" }.joined(separator: " ")
    }

    /// A JSON object with the counters in a stable order.
    public func json(extra: [(String, String)] = []) -> String {
        var parts = extra.map { "\"\($0.0)\":\"\($0.1)\"" }
        parts += ProxyCounters.Name.allCases.map { "\"\($0.key)\":\(values[$0.key] ?? 0)" }
        return "{" + parts.joined(separator: ",") + "}"
    }
}
