import ArgumentParser
import Foundation
import MeshgateAdmin
import MeshgateControl

/// `meshgate check --config gateway.yaml`: is this gateway set up right? (docs/operations.md)
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a gateway's setup: config, registry, identity (chain, name, expiry) and each link (trust, reachable, identity).",
        discussion: """
            One ✔/⚠/✘ line per check, with a hint under each ✘ and ⚠. Exit status 1 when anything \
            failed (a warning alone exits 0). Links are probed the way mirrors probe them: an mTLS \
            connection to each gateway address requiring the bundle's identity, and a probe header. \
            With registry.kubernetes the API server must answer within 5 s (its version and the \
            exported Services); an unreachable or refusing API server is a failure (exit status 1).
            """
    )

    @Option(name: .long, help: "The gateway configuration file (YAML).")
    var config: String

    @Option(name: .long, help: "Also check that this running gateway's admin endpoint reports ready (host:port).")
    var admin: String?

    @Option(name: .long, help: "Output format: table or json.")
    var output: AdminOutput = .table

    @Option(name: .long, help: "How long each link probe may take.")
    var probeTimeout: String = "2s"

    func run() throws {
        let timeout = try DurationFlag.parse("probe-timeout", probeTimeout, positive: true)
        var results = GatewayCheck.run(configPath: config, probeTimeout: timeout)
        if let admin { results.append(Self.readiness(admin)) }
        switch output {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(results), as: UTF8.self))
        case .table:
            for r in results { print(Self.render(r)) }
        }
        if results.contains(where: { $0.status == .failed }) { throw ExitCode(1) }
    }

    static func render(_ r: CheckResult) -> String {
        let mark = switch r.status {
        case .ok: "✔"
        case .warning: "⚠"
        case .failed: "✘"
        }
        var lines = ["\(mark) \(r.name): \(r.detail.replacingOccurrences(of: "\n", with: "\n    "))"]
        if let hint = r.hint, r.status != .ok { lines.append("    hint: \(hint)") }
        return lines.joined(separator: "\n")
    }

    /// GET /ready on a running gateway's admin endpoint.
    static func readiness(_ admin: String) -> CheckResult {
        let name = "gateway at \(admin) ready"
        do {
            let response = try AdminClient.get(admin, path: "/ready", timeout: .seconds(3))
            let body = response.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if response.status == 200 { return CheckResult(name, .ok, body) }
            return CheckResult(
                name, .failed, "HTTP \(response.status): \(body)", hint: "see `meshgate gateways --admin \(admin)` and the gateway's log")
        } catch {
            return CheckResult(name, .failed, "\(error)", hint: "is the gateway running, with admin.listen \(admin)?")
        }
    }
}

