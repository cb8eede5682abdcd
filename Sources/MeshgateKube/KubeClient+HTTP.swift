import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

extension KubeClient {
    /// Builds a request with the current credentials.
    func request(
        _ verb: KubeVerb, path: String, query: [(String, String)] = [], body: ByteBuffer? = nil
    ) -> HTTPClientRequest {
        var url = base + path
        if !query.isEmpty {
            url += "?" + query.map { "\($0.0)=\(KubePath.escapeQuery($0.1))" }.joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        switch verb {
        case .list, .watch, .get: request.method = .GET
        case .create: request.method = .POST
        case .update: request.method = .PUT
        case .delete: request.method = .DELETE
        }
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "meshgate")
        if let token = tokens.token() { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
        }
        return request
    }

    /// Sends a request with the 10 s deadline and returns a 2xx body; other statuses become
    /// the server's Status as a ``KubeError``.
    func send(
        _ verb: KubeVerb, path: String, query: [(String, String)] = [], body: ByteBuffer? = nil
    ) async throws(KubeError) -> ByteBuffer {
        guard let http else { throw setupError! }
        count(verb)
        let request = self.request(verb, path: path, query: query, body: body)
        do {
            let response = try await http.execute(request, deadline: .now() + Self.requestTimeout, logger: logger)
            let bytes = try await response.body.collect(upTo: Self.maxBody)
            guard (200..<300).contains(response.status.code) else {
                throw Self.statusError(response.status, bytes)
            }
            return bytes
        } catch {
            throw Self.kubeError(error, "\(request.method.rawValue) \(path)")
        }
    }

    /// The server's Status as an error; a body that is not a Status gives the HTTP reason.
    static func statusError(_ status: HTTPResponseStatus, _ body: ByteBuffer) -> KubeError {
        if let decoded = try? JSONDecoder().decode(KubeStatus.self, from: Data(buffer: body)),
            decoded.reason != nil
                || decoded.message != nil
        {
            return decoded.error(httpStatus: Int(status.code))
        }
        let text = String(buffer: body).prefix(200)
        return KubeError(
            code: Int(status.code), reason: status.reasonPhrase.replacingOccurrences(of: " ", with: ""),
            message: text.isEmpty ? status.reasonPhrase : String(text))
    }

    /// Any error of a request as a ``KubeError``.
    static func kubeError(_ error: any Error, _ what: String) -> KubeError {
        if let error = error as? KubeError { return error }
        if error is CancellationError { return KubeError(code: nil, reason: "Cancelled", message: what) }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                return KubeError(code: nil, reason: "Timeout", message: "\(what): \(error)")
            case .cancelled:
                return KubeError(code: nil, reason: "Cancelled", message: what)
            default: break
            }
        }
        return KubeError(code: nil, reason: "Transport", message: "\(what): \(error)")
    }
}

/// URL paths of the API.
enum KubePath {
    /// `/api/v1` or `/apis/<group>/<version>`.
    static func prefix(_ kind: KubeKind) -> String {
        kind.group.isEmpty ? "/api/\(kind.version)" : "/apis/\(kind.group)/\(kind.version)"
    }

    /// The collection: `.../namespaces/<ns>/<plural>`, or `.../<plural>` for all namespaces.
    static func collection(_ kind: KubeKind, namespace: String?) -> String {
        if kind.namespaced, let namespace, !namespace.isEmpty {
            return "\(prefix(kind))/namespaces/\(escapePath(namespace))/\(kind.plural)"
        }
        return "\(prefix(kind))/\(kind.plural)"
    }

    /// One object's path.
    static func object(_ kind: KubeKind, namespace: String?, name: String) -> String {
        collection(kind, namespace: namespace) + "/" + escapePath(name)
    }

    private static let unreserved = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    static func escapePath(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: unreserved) ?? segment
    }

    static func escapeQuery(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }
}
