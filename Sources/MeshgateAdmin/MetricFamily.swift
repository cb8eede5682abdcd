/// The metric families of `/metrics` (docs/operations.md lists each with its labels). Labels are
/// bounded: by the routes, services and links configured, never per connection.
enum MetricFamily: String, CaseIterable, Sendable {
    case connections = "meshgate_connections_total"
    case refusals = "meshgate_refusals_total"
    case bytes = "meshgate_bytes_total"
    case activeConnections = "meshgate_active_connections"
    case connectionsByPath = "meshgate_connections_by_path_total"
    case routeTableGeneration = "meshgate_route_table_generation"
    case info = "meshgate_info"
    case gatewayAlive = "gateway_alive"
    case gatewayLatency = "gateway_latency_seconds"
    case gatewayProbes = "gateway_probes_total"
    case mirrorConflicts = "meshgate_mirror_conflicts_total"
    case mirrorLimitRefusals = "meshgate_mirror_limit_refusals_total"
    case tlsHandshake = "meshgate_tls_handshake_seconds"
    case connect = "meshgate_connect_seconds"
    case identityReloadRefused = "meshgate_identity_reload_refused_total"
    case discoverLateAnnouncements = "meshgate_discover_late_announcements_total"
    case tlsRefusals = "meshgate_tls_refusals_total"
    case identityExpiry = "meshgate_identity_expiry_seconds"
    case identityRenewals = "meshgate_identity_renewals_total"
    case registrySyncAge = "meshgate_registry_sync_age_seconds"
    case registryRelists = "meshgate_registry_relists_total"
    case registryWatchRestarts = "meshgate_registry_watch_restarts_total"
    case registrySynced = "meshgate_registry_synced"
    case mirrorServiceWrites = "meshgate_mirror_service_writes_total"
    case mirrorServiceConflicts = "meshgate_mirror_service_conflicts"
    case mirrorLeaseLeader = "meshgate_mirror_lease_leader"
    case mirrorServices = "meshgate_mirror_services"
    case poolConnections = "meshgate_pool_connections"
    case poolEvents = "meshgate_pool_events_total"
    case linkPoolConnections = "gateway_pool_connections"
    case linkPoolEvents = "gateway_pool_events_total"

    /// The name as exposed.
    var name: String { rawValue }

    /// Counter, gauge or histogram.
    var type: String {
        switch self {
        case .connections, .refusals, .bytes, .connectionsByPath, .gatewayProbes, .identityReloadRefused, .discoverLateAnnouncements,
            .mirrorConflicts,
            .mirrorLimitRefusals, .tlsRefusals, .identityRenewals, .registryRelists, .registryWatchRestarts,
            .mirrorServiceWrites, .poolEvents, .linkPoolEvents:
            "counter"
        case .activeConnections, .routeTableGeneration, .info, .gatewayAlive, .gatewayLatency, .identityExpiry, .registrySyncAge,
            .registrySynced, .mirrorServiceConflicts, .mirrorLeaseLeader, .mirrorServices, .poolConnections, .linkPoolConnections:
            "gauge"
        case .tlsHandshake, .connect: "histogram"
        }
    }

    /// The `# HELP` text (one line; the registry requires the same text for every series).
    var help: String {
        switch self {
        case .connections: "Gateway connections ended, by direction, cluster, service and result (ok, reset, refused, link_down)."
        case .refusals: "Gateway connections refused before any payload moved, by direction and reason."
        case .bytes: "Payload bytes carried: way=in from the connecting side, way=out back to it."
        case .activeConnections: "Gateway connections open now."
        case .connectionsByPath: "Connections by the path that carried their payload (ktls, userspace, splice)."
        case .routeTableGeneration: "The generation of the route table last published to the loops."
        case .info: "Always 1; the labels say which cluster, I/O backend and kernel TLS mode this gateway runs with."
        case .gatewayAlive: "1 while the linked cluster's gateway answers probes, 0 once the link is down."
        case .gatewayLatency: "Round trip of the linked gateway's recent probes (quantiles of the last 64 answered)."
        case .gatewayProbes: "Probes of the linked gateway since its mirror started, by result (ok, failed)."
        case .mirrorConflicts: "Imports of the link refused because another link holds the mirrored name (or a local service or static route has it)."
        case .mirrorLimitRefusals: "Imports of the link refused over its links limits, by limit (services, routes); what it has keeps its place."
        case .tlsHandshake: "TLS handshake duration, both sides and both directions."
        case .connect: "TCP connect duration, to remote gateways and to local endpoints."
        case .tlsRefusals: "TLS handshakes refused, both sides, by reason (the tls_refused_<reason> counters: protocol_version, unknown_ca, identity, identity_issuer_mismatch, alpn, ...)."
        case .discoverLateAnnouncements:
            "Route-table generations a discover stream announced after its 2 s bound although not every proxy loop ran them yet."
        case .identityReloadRefused: "Identity reloads refused (the new files failed the checks of meshgate check; the current identity stayed in use)."
        case .identityExpiry: "Seconds until the gateway's leaf certificate in use expires (negative once expired)."
        case .identityRenewals: "Automatic renewals of the gateway's leaf (identity.renew), by result (ok, error)."
        case .registrySyncAge: "Seconds since the Kubernetes registry last heard from the API server (list, event or bookmark); grows while it is unreachable."
        case .registryRelists: "Lists of the Kubernetes registry's watches after their first (410 Gone, failed watches)."
        case .registryWatchRestarts: "Watches of the Kubernetes registry opened again (timeouts, EOF, transport errors)."
        case .registrySynced: "1 once every watch of the Kubernetes registry has listed (a registry file: loaded), else 0."
        case .mirrorServiceWrites: "Writes of mirrored Services <svc>-<cluster> to the Kubernetes API by this replica, by op (create, update, delete)."
        case .mirrorServiceConflicts: "Mirrored Services refused because a Service of that name exists and is not meshgate's (never touched)."
        case .mirrorLeaseLeader: "1 while this replica holds the mirror writer's Lease (and writes the mirrored Services), else 0."
        case .mirrorServices: "Mirrored Services meshgate owns, as the Kubernetes API shows them."
        case .poolConnections:
            "Warm-pool connections now, by state: idle (ready for a client), opening (connecting or handshaking), inbound_idle (peers' pooled connections held here)."
        case .poolEvents:
            "Warm-pool events, by event: opened, hits (clients that left on a pooled connection), misses (none was ready), expired (maxAge), closed_by_peer, lost (the path went silent: keepalive probes unanswered), drained (link down, identity reload, shutdown), failed (opens that failed), inbound_held (peers' pooled connections taken)."
        case .linkPoolConnections: "The linked cluster's warm pool now, by state: idle (ready for a client), opening."
        case .linkPoolEvents:
            "The linked cluster's warm-pool events, by event (as meshgate_pool_events_total, without inbound_held), since the gateway started."
        }
    }
}
