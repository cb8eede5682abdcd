import ArgumentParser
import Foundation
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

    /// The help discussion of a command that reads /status: where it reads from, `detail`, and
    /// the exit status when the endpoint cannot be reached.
    static func discussion(_ detail: String) -> String {
        "Reads /status from a running gateway's admin endpoint (--admin, its admin.listen). \(detail) "
            + "An unreachable admin endpoint exits 1."
    }

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

    /// Fetches /status (``fetchStatus()``) and prints the rows `rows` picks as `--output` asks:
    /// `json`, the rows pretty-printed; `table`, `table(rows)` (or the line `empty` makes when
    /// there are none), then each of the sections `notes` makes.
    func printRows<Rows: Collection & Encodable>(
        _ rows: KeyPath<GatewayStatus, Rows>, table: (Rows) -> String, notes: (GatewayStatus) -> [String] = { _ in [] },
        empty: (GatewayStatus) -> String
    ) throws {
        let status = try fetchStatus()
        switch output {
        case .json:
            print(String(decoding: try GatewayStatus.encoder(pretty: true).encode(status[keyPath: rows]), as: UTF8.self))
        case .table:
            print(status[keyPath: rows].isEmpty ? empty(status) : table(status[keyPath: rows]))
            for note in notes(status) { print(note) }
        }
    }
}

/// `--output`.
enum AdminOutput: String, ExpressibleByArgument, CaseIterable {
    case table
    case json
}
