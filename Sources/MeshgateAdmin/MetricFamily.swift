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
    case tlsHandshake = "meshgate_tls_handshake_seconds"
    case connect = "meshgate_connect_seconds"
    case identityExpiry = "meshgate_identity_expiry_seconds"
    case identityRenewals = "meshgate_identity_renewals_total"

    /// The name as exposed.
    var name: String { rawValue }

    /// Counter, gauge or histogram.
    var type: String {
        switch self {
        case .connections, .refusals, .bytes, .connectionsByPath, .gatewayProbes, .identityRenewals: "counter"
        case .activeConnections, .routeTableGeneration, .info, .gatewayAlive, .gatewayLatency, .identityExpiry: "gauge"
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
        case .tlsHandshake: "TLS handshake duration, both sides and both directions."
        case .connect: "TCP connect duration, to remote gateways and to local endpoints."
        case .identityExpiry: "Seconds until the gateway's leaf certificate in use expires (negative once expired)."
        case .identityRenewals: "Automatic renewals of the gateway's leaf (identity.renew), by result (ok, error)."
        }
    }
}
