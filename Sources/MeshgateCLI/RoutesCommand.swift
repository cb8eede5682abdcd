import ArgumentParser
import MeshgateAdmin
import MeshgateControl

/// `meshgate routes`: the outbound routes a gateway serves, static and mirrored (docs/operations.md).
struct RoutesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routes",
        abstract: "Show the gateway's outbound routes: local name, listen address, cluster, target, state, open connections.",
        discussion: AdminOptions.discussion("""
            STATE is down while the route's link is down (new connections are refused at once). \
            Imports refused (a name another link holds, over a link's limits) are listed below the \
            table, and so are mirrored Kubernetes Services refused because a Service of that name \
            is not meshgate's.
            """)
    )

    @OptionGroup var options: AdminOptions

    func run() throws {
        try options.printRows(\.routes, table: Self.table, notes: Self.notes) { status in
            "no routes (gateway of cluster \(status.cluster))"
        }
    }

    /// The sections below the table: the refused imports and the refused mirrored Services, each
    /// only when there are some.
    static func notes(_ status: GatewayStatus) -> [String] {
        var sections: [String] = []
        let refusals = refused(status.links)
        if !refusals.isEmpty { sections.append("\nrefused:\n" + refusals.map { "  \($0)" }.joined(separator: "\n")) }
        let conflicts = serviceConflicts(status.mirrorServices)
        if !conflicts.isEmpty {
            sections.append("\nmirrored Services refused:\n" + conflicts.map { "  \($0)" }.joined(separator: "\n"))
        }
        return sections
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
