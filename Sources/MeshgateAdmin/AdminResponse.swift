/// One answer of the admin endpoint, before it is put on the wire.
struct AdminResponse: Sendable, Equatable {
    /// The HTTP status code.
    var status: Int
    /// `Content-Type`.
    var contentType: String
    var body: [UInt8]
    /// Extra headers (`Allow` on a 405).
    var headers: [(String, String)] = []

    static let plainText = "text/plain; charset=utf-8"
    static let json = "application/json"
    /// The Prometheus text exposition format.
    static let prometheus = "text/plain; version=0.0.4; charset=utf-8"

    static func text(_ status: Int, _ text: String) -> AdminResponse {
        AdminResponse(status: status, contentType: plainText, body: Array(text.utf8))
    }

    static func == (a: AdminResponse, b: AdminResponse) -> Bool {
        a.status == b.status && a.contentType == b.contentType && a.body == b.body
            && a.headers.map { "\($0.0): \($0.1)" } == b.headers.map { "\($0.0): \($0.1)" }
    }

    /// The reason phrase of the codes the admin endpoint uses.
    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 413: "Content Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status \(status)"
        }
    }
}
