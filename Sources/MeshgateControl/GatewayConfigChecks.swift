/// Checks that span several fields of a gateway config: duplicate routes, listen addresses used
/// twice, and enough outbound ports for the routes that need one.
struct GatewayConfigChecks {
    let config: GatewayConfig
    let diagnostics: Diagnostics

    func run() {
        checkDuplicateRoutes()
        checkListenAddresses()
        checkPortCapacity()
        checkPinnedFixedRoutes()
    }

    /// A static route with its own `listen` has no use for a pin.
    private func checkPinnedFixedRoutes() {
        for route in config.routes where route.listen != nil {
            let key = "\(route.namespace)/\(route.name):\(route.port)"
            guard config.outbound.pins[key] != nil else { continue }
            let field = "outbound.pin.\(key)"
            diagnostics.report(
                line: diagnostics.line(of: field), field: field,
                "route \(key) has a fixed listen address (line \(route.line)); pin it or give it listen, not both")
        }
    }

    private func checkDuplicateRoutes() {
        diagnostics.reportDuplicateNames(
            config.routes, noun: "route", list: "routes", namespace: \.namespace, name: \.name, line: \.line)
    }

    private struct Use {
        let field: String
        /// The line it is written on; nil for a default.
        let line: Int?
        let address: HostPort
    }

    private func checkListenAddresses() {
        var fields = [("inbound.listen", config.inbound.listen), ("admin.listen", config.admin.listen)]
        for (index, route) in config.routes.enumerated() {
            if let listen = route.listen { fields.append(("routes[\(index)].listen", listen)) }
        }
        for (key, port) in config.outbound.pins.sorted(by: { $0.key < $1.key }) {
            fields.append(("outbound.pin.\(key)", HostPort(host: config.outbound.bind, port: port)))
        }
        // Defaults first, then in file order: the later of two conflicting addresses is reported.
        let uses = fields.map { Use(field: $0.0, line: diagnostics.fieldLines[$0.0], address: $0.1) }
            .enumerated().sorted { ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset) }.map(\.element)
        for (index, use) in uses.enumerated() {
            guard let line = use.line, let earlier = uses[..<index].first(where: { $0.address.overlaps(use.address) }) else {
                continue
            }
            let origin = earlier.line.map { "line \($0)" } ?? "default"
            diagnostics.report(
                line: line, field: use.field,
                "address \(use.address) conflicts with \(earlier.field) \(earlier.address) (\(origin))")
        }
    }

    private func checkPortCapacity() {
        let needing = config.routes.filter { $0.listen == nil }.count
        let ports = config.outbound.ports
        guard needing > ports.count else { return }
        diagnostics.report(
            line: diagnostics.line(of: "outbound.ports"), field: "outbound.ports",
            "range \(ports) holds \(ports.count) ports but \(needing) routes need one")
    }
}
