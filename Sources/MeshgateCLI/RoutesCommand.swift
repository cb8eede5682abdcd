import ArgumentParser
import MeshgateControl

/// `meshgate routes`: the outbound routes a gateway serves, static and mirrored (docs/operations.md).
struct RoutesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routes",
        abstract: "Show the gateway's outbound routes: local name, listen address, cluster, target, state, open connections.",
        discussion: """
            Reads /status from a running gateway's admin endpoint (--admin, its admin.listen). \
            STATE is down while the route's link is down (new connections are refused at once). \
            Imports refused (a name another link holds, over a link's limits) are listed below the \
            table, and so are mirrored Kubernetes Services refused because a Service of that name \
            is not meshgate's. An unreachable admin endpoint exits 1.
            """
    )

    @OptionGroup var options: AdminOptions

    func run() throws {
        let status = try options.fetchStatus()
        switch options.output {
        case .json:
            print(try GatewaysCommand.json(status.routes))
        case .table:
            if status.routes.isEmpty {
                print("no routes (gateway of cluster \(status.cluster))")
            } else {
                print(Self.table(status.routes))
            }
            let refused = Self.refused(status.links)
            if !refused.isEmpty { print("\nrefused:\n" + refused.map { "  \($0)" }.joined(separator: "\n")) }
            let conflicts = Self.serviceConflicts(status.mirrorServices)
            if !conflicts.isEmpty {
                print("\nmirrored Services refused:\n" + conflicts.map { "  \($0)" }.joined(separator: "\n"))
            }
        }
    }

    /// The refusals in force, one line each, by link.
    static func refused(_ links: [LinkStatus]) -> [String] {
        links.flatMap { $0.refusals?.current ?? [] }
    }

    /// One line per mirrored Service the Kubernetes mirror writer refused to write.
    static func serviceConflicts(_ status: MirrorServicesStatus?) -> [String] {
        (status?.conflicts ?? []).map { "service \($0.namespace)/\($0.name): \($0.reason)" }
    }

    /// The table: NAME, LISTEN, CLUSTER, TARGET, STATE, ACTIVE.
    static func table(_ routes: [RouteStatus]) -> String {
        var t = TextTable(["NAME", "LISTEN", "CLUSTER", "TARGET", "STATE", "ACTIVE"])
        for r in routes {
            t.add([r.key, r.listen, r.cluster, r.target, r.state.rawValue, r.active.map(String.init) ?? "-"])
        }
        return t.text
    }
}
