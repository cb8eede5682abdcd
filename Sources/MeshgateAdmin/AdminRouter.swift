import Foundation
import MeshgateControl
import MeshgateProxy

/// Maps a request (method and target) to an answer; no I/O, so that tests can call it directly.
///
/// | route | answer |
/// |---|---|
/// | `GET /live` | 200 `live` while the process serves |
/// | `GET /ready` | 200 `ready`, or 503 `not ready: <reason>` (one line per reason) |
/// | `GET /status` | 200, `GatewayStatus` as JSON |
/// | `GET /metrics` | 200, Prometheus text format |
/// | another method on one of those | 405, `Allow: GET` |
/// | anything else | 404 |
struct AdminRouter: Sendable {
    let controller: GatewayController
    let traffic: @Sendable () -> TrafficSnapshot?
    let exporter: PrometheusExporter

    /// The paths served.
    static let paths = ["/live", "/ready", "/status", "/metrics"]

    func respond(method: String, target: String) -> AdminResponse {
        let path = Self.path(of: target)
        guard Self.paths.contains(path) else {
            return .text(404, "not found: \(Self.printable(path))\nroutes: \(Self.paths.joined(separator: " "))\n")
        }
        guard method == "GET" else {
            var r = AdminResponse.text(405, "method \(Self.printable(method)) not allowed; \(path) answers GET only\n")
            r.headers = [("Allow", "GET")]
            return r
        }
        switch path {
        case "/live":
            return .text(200, "live\n")
        case "/ready":
            let readiness = controller.readiness()
            if readiness.isReady { return .text(200, "ready\n") }
            return .text(503, readiness.reasons.map { "not ready: \($0)\n" }.joined())
        case "/status":
            let status = controller.status(traffic: traffic())
            do {
                var body = try GatewayStatus.encoder(pretty: true).encode(status)
                body.append(UInt8(ascii: "\n"))
                return AdminResponse(status: 200, contentType: AdminResponse.json, body: Array(body))
            } catch {
                return .text(500, "cannot encode the status: \(error)\n")
            }
        default:
            let t = traffic()
            let status = controller.status(traffic: t)
            return AdminResponse(status: 200, contentType: AdminResponse.prometheus, body: exporter.render(status: status, traffic: t))
        }
    }

    /// The path of a request target: the query string and fragment dropped.
    static func path(of target: String) -> String {
        var path = Substring(target)
        if let i = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<i] }
        return String(path)
    }

    /// `text` with control characters replaced, and at most 200 characters, for echoing back.
    static func printable(_ text: String) -> String {
        let cleaned = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : Character($0) })
        return cleaned.count > 200 ? String(cleaned.prefix(200)) + "…" : cleaned
    }
}
