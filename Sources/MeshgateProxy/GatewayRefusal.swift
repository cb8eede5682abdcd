/// Why a gateway ended a connection after TLS (counted `gateway_refused_<key>`, logged once
/// per reason and second). Each ends that connection only.
enum GatewayRefusal: CaseIterable {
    /// The transport header was malformed.
    case badHeader
    /// No complete header arrived within the header timeout.
    case headerTimeout
    /// A header kind this gateway does not serve.
    case unsupportedKind
    /// The target service is not in the registry.
    case unknownService
    /// The target service exists but is not exported.
    case notExported
    /// The peer gateway's (or the original client's) identity is not on the service's allow list.
    case notAllowed
    /// The service has the port but no endpoint for it.
    case noEndpoint
    /// The service has no such port.
    case unknownPort
    /// Outbound: the route's link is down (its probes fail, or its gateways do not resolve).
    case linkDown

    var key: String {
        switch self {
        case .badHeader: "bad_header"
        case .headerTimeout: "header_timeout"
        case .unsupportedKind: "unsupported_kind"
        case .unknownService: "unknown_service"
        case .notExported: "not_exported"
        case .notAllowed: "not_allowed"
        case .noEndpoint: "no_endpoint"
        case .unknownPort: "unknown_port"
        case .linkDown: "link_down"
        }
    }

    var counter: ProxyCounters.Name {
        switch self {
        case .badHeader: .gatewayRefusedBadHeader
        case .headerTimeout: .gatewayRefusedHeaderTimeout
        case .unsupportedKind: .gatewayRefusedUnsupportedKind
        case .unknownService: .gatewayRefusedUnknownService
        case .notExported: .gatewayRefusedNotExported
        case .notAllowed: .gatewayRefusedNotAllowed
        case .noEndpoint: .gatewayRefusedNoEndpoint
        case .unknownPort: .gatewayRefusedUnknownPort
        case .linkDown: .gatewayRefusedLinkDown
        }
    }
}
