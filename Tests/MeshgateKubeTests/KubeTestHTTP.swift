import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// A plain HTTP POST for tests (etcd's JSON gateway).
enum KubeTestHTTP {
    static func post(_ url: String, body: String) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return Data(buffer: bytes)
    }
}
