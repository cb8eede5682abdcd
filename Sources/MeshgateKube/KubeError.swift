/// The one error of every ``KubeClient`` call.
///
/// `code` is the HTTP status when the server answered (401, 403, 404, 409, 410, 422, 5xx) and
/// `reason` its Status reason ("NotFound", "AlreadyExists", "Conflict", "Expired"…). Without an
/// answer, `code` is nil and `reason` one word: "Transport" (could not connect, connection lost),
/// "Timeout" (the request deadline passed), "TLS" (the client's TLS settings are unusable),
/// "Decoding" (the server sent something that is not the expected JSON), "Cancelled".
public struct KubeError: Error, CustomStringConvertible, Sendable, Hashable {
    /// The HTTP status, when the server answered.
    public var code: Int?
    /// The Status reason or a transport word.
    public var reason: String
    /// What happened, for people.
    public var message: String

    /// An error from its parts.
    public init(code: Int?, reason: String, message: String) {
        self.code = code
        self.reason = reason
        self.message = message
    }

    /// 410: the resourceVersion is too old (compacted): list again.
    public var isGone: Bool { code == 410 }
    /// 409: a stale resourceVersion or an existing name.
    public var isConflict: Bool { code == 409 }
    /// 404: no such object (or namespace).
    public var isNotFound: Bool { code == 404 }

    /// "409 AlreadyExists: services \"a\" already exists" or "Transport: connection refused".
    public var description: String {
        if let code { return "\(code) \(reason): \(message)" }
        return "\(reason): \(message)"
    }

    static func decoding(_ what: String, _ error: any Error) -> KubeError {
        KubeError(code: nil, reason: "Decoding", message: "\(what): \(error)")
    }
}

/// A `meta/v1` Status, as the server sends it for errors (and in watch ERROR events).
struct KubeStatus: Decodable {
    var status: String?
    var message: String?
    var reason: String?
    var code: Int?

    func error(httpStatus: Int?) -> KubeError {
        let code = code ?? httpStatus
        return KubeError(code: code, reason: reason ?? (code.map { "HTTP\($0)" } ?? "Unknown"), message: message ?? "")
    }
}
