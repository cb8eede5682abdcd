import ArgumentParser
import Foundation
import MeshgateAdmin
import MeshgateControl

/// `meshgate gateways`: the linked clusters' gateways as this gateway sees them (docs/operations.md).
struct GatewaysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateways",
        abstract: "Show the linked clusters' gateways: alive, services mirrored, probe latency, warm pool, last error.",
        discussion: AdminOptions.discussion("""
            LATENCY is the p50/p99 of the round trips of the link's recent probes (the last 64 \
            answered). POOL is the link's warm pool: connections ready now, clients served from \
            it of all its clients, and connections lost on a silent path or opens failed.
            """)
    )

    @OptionGroup var options: AdminOptions

    func run() throws {
        try options.printRows(\.links, table: { Self.table($0, now: Date()) }) { status in
            "no linked clusters (gateway of cluster \(status.cluster); `meshgate link add` adds one)"
        }
    }

    /// The table: CLUSTER, ALIVE, NUM_SVC, LATENCY, POOL, LAST_ERROR.
    static func table(_ links: [LinkStatus], now: Date) -> String {
        var t = TextTable(["CLUSTER", "ALIVE", "NUM_SVC", "LATENCY", "POOL", "LAST_ERROR"])
        for link in links {
            t.add([
                link.cluster, link.alive ? "True" : "False", String(link.services), latency(link.latency), pool(link.pool),
                lastError(link, now: now),
            ])
        }
        return t.text
    }

    /// The warm pool: `4 ready`, then `12/13 hits` once clients came, and the connections
    /// `lost` on a silent path and opens `failed` when there were any; `-` when the gateway
    /// gave no counts or the link keeps no pool.
    static func pool(_ p: LinkStatus.Pool?) -> String {
        guard let p, p.idle + p.opening + p.opened + p.failed + p.misses > 0 else { return "-" }
        var parts = ["\(p.idle) ready"]
        if p.hits + p.misses > 0 { parts.append("\(p.hits)/\(p.hits + p.misses) hits") }
        if p.lost > 0 { parts.append("\(p.lost) lost") }
        if p.failed > 0 { parts.append("\(p.failed) failed") }
        return parts.joined(separator: ", ")
    }

    /// `p50/p99`, e.g. `0.4ms/1.2ms` or `12ms/30ms`; `-` before any probe was answered.
    static func latency(_ l: LinkStatus.Latency) -> String {
        guard let p50 = l.p50Ms, let p99 = l.p99Ms else { return "-" }
        return "\(milliseconds(p50))/\(milliseconds(p99))"
    }

    static func milliseconds(_ ms: Double) -> String {
        ms < 10 ? String(format: "%.1fms", ms) : String(format: "%.0fms", ms)
    }

    /// The last error (at most 80 characters) and how long ago; `-` when there was none.
    static func lastError(_ link: LinkStatus, now: Date) -> String {
        guard let error = link.lastError else { return "-" }
        let short = error.count > 80 ? String(error.prefix(79)) + "…" : error
        guard let at = link.lastErrorAt else { return short }
        return "\(short) (\(age(now.timeIntervalSince(at))) ago)"
    }

    /// `5s`, `3m`, `2h`, `4d`.
    static func age(_ seconds: TimeInterval) -> String {
        let s = max(0, Int(seconds))
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }
}
