#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MeshgateNames

// The HTTP client of `meshgate demo`: one `GET /` per connection, and how it ended.

/// What a client connection came to.
enum DemoOutcome {
    /// An HTTP answer: status, body, bytes sent and received, seconds from connect to the end.
    case answered(status: Int, body: String, sent: Int, received: Int, seconds: Double)
    /// No answer: the connection was reset, closed, refused or timed out, after `seconds`.
    case failed(reason: String, seconds: Double)

    var ok: Bool {
        if case .answered(let status, _, _, _, _) = self { return status == 200 }
        return false
    }

    var seconds: Double {
        switch self {
        case .answered(_, _, _, _, let s), .failed(_, let s): s
        }
    }
}

enum DemoHTTP {
    /// `GET /` to 127.0.0.1:`port`, read to the end of the connection.
    static func get(_ port: UInt16, host: String, timeout: Double = 5) -> DemoOutcome {
        let start = ContinuousClock.now
        func elapsed() -> Double { (ContinuousClock.now - start).seconds }
        let fd: Int32
        switch DemoSockets.connect(port, timeout: timeout) {
        case .success(let s): fd = s
        case .failure(let e): return .failed(reason: e.description, seconds: elapsed())
        }
        defer { close(fd) }
        let request = Array("GET / HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: meshgate-demo\r\nConnection: close\r\n\r\n".utf8)
        guard DemoSockets.writeAll(fd, request) else {
            return .failed(reason: "\(DemoSockets.Errno(errno)), no answer", seconds: elapsed())
        }
        var received: [UInt8] = []
        var n = 1
        while n > 0 { n = DemoSockets.receive(fd, into: &received) }
        let receiveErrno = errno
        let seconds = elapsed()
        if n < 0 {
            let e = DemoSockets.Errno(receiveErrno)
            return .failed(reason: received.isEmpty ? "\(e), no answer" : "\(e) after \(received.count) bytes", seconds: seconds)
        }
        guard !received.isEmpty else { return .failed(reason: "closed, no answer", seconds: seconds) }
        guard let head = received.firstRange(of: [13, 10, 13, 10]) else {
            return .failed(reason: "not an HTTP answer (\(received.count) bytes)", seconds: seconds)
        }
        let statusLine = String(decoding: received[..<head.lowerBound], as: UTF8.self).prefix { $0 != "\r" }
        let parts = statusLine.split(separator: " ")
        let status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        let body = String(decoding: received[head.upperBound...], as: UTF8.self)
        return .answered(status: status, body: body, sent: request.count, received: received.count, seconds: seconds)
    }
}
