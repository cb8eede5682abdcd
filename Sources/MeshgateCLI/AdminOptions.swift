import ArgumentParser
import MeshgateAdmin
import MeshgateControl
import MeshgateNames

/// The options every command reading a gateway's admin endpoint takes.
struct AdminOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("The gateway's admin endpoint (its admin.listen).", valueName: "host:port"))
    var admin: String = GatewayDefaults.adminListen.description

    @Option(name: .long, help: "Output format: table or json (the relevant part of /status, pretty-printed).")
    var output: AdminOutput = .table

    @Option(name: .long, help: "How long connecting and reading may take in all.")
    var timeout: String = "5s"

    func validate() throws {
        guard (try? HostPort.parse(admin)) != nil else {
            throw ValidationError("--admin '\(admin)': not an address (expected HOST:PORT, [v6]:PORT)")
        }
        _ = try DurationFlag.parse("timeout", timeout, positive: true)
    }

    /// `GET /status` from `--admin`; a failure is a run-time error (exit 1) saying what to check.
    func fetchStatus() throws -> GatewayStatus {
        do {
            return try AdminClient.status(admin, timeout: DurationText.value(timeout) ?? .seconds(5))
        } catch {
            throw RuntimeError(
                "\(error) (is `meshgate gateway` running with admin.listen \(admin)? Point --admin at its admin.listen)")
        }
    }
}

/// `--output`.
enum AdminOutput: String, ExpressibleByArgument, CaseIterable {
    case table
    case json
}
