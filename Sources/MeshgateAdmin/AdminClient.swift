import Foundation
import MeshgateControl
import MeshgateLoop

#if canImport(Glibc)
    import Glibc
#endif

/// A small blocking HTTP/1.1 client for the admin endpoint: one GET per connection
/// (`Connection: close`), the whole exchange under one deadline. What `meshgate gateways` and
/// `meshgate routes` use to read `/status`.
public enum AdminClient {
    /// An answer.
    public struct Response: Sendable {
        public let status: Int
        /// Header names lowercased.
        public let headers: [String: String]
        public let body: [UInt8]

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// The most a response may hold (the whole message).
    public static let maxResponseBytes = 64 << 20

    /// `GET path` from `address` (`host:port`, `[v6]:port`).
    public static func get(_ address: String, path: String, timeout: Duration = .seconds(5)) throws(AdminClientError) -> Response {
        let target: SocketAddress
        do {
            let (host, port) = try SocketAddress.split(address)
            target = try SocketAddress.resolve(host: host, port: port, input: address)
        } catch {
            throw AdminClientError(address: address, "not an address (expected HOST:PORT): \(error)")
        }
        let deadline = ContinuousClock.now + timeout
        let fd = socket(Int32(target.family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw AdminClientError(address: address, "socket: \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        let rc = target.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc != 0 && errno != EINPROGRESS {
            throw AdminClientError(address: address, "cannot connect: \(String(cString: strerror(errno)))")
        }
        try wait(fd, for: Int16(POLLOUT), until: deadline, address: address, doing: "connecting")
        var soError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
        if soError != 0 { throw AdminClientError(address: address, "cannot connect: \(String(cString: strerror(soError)))") }

        let hostHeader = address
        let request = Array(
            "GET \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\nUser-Agent: meshgate\r\nAccept: */*\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                sent += n
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                try wait(fd, for: Int16(POLLOUT), until: deadline, address: address, doing: "sending the request")
            } else {
                throw AdminClientError(address: address, "sending the request: \(String(cString: strerror(errno)))")
            }
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received.append(contentsOf: chunk[0..<n])
                if received.count > maxResponseBytes {
                    throw AdminClientError(address: address, "response larger than \(maxResponseBytes) bytes")
                }
                if let complete = try parse(received, address: address, atEOF: false) { return complete }
            } else if n == 0 {
                if let complete = try parse(received, address: address, atEOF: true) { return complete }
                throw AdminClientError(address: address, "the connection closed before a whole response arrived")
            } else if errno == EAGAIN || errno == EINTR {
                try wait(fd, for: Int16(POLLIN), until: deadline, address: address, doing: "reading the response")
            } else {
                throw AdminClientError(address: address, "reading the response: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// `GET /status`, decoded; a non-200 answer or bad JSON is an error.
    public static func status(_ address: String, timeout: Duration = .seconds(5)) throws(AdminClientError) -> GatewayStatus {
        let response = try get(address, path: "/status", timeout: timeout)
        guard response.status == 200 else {
            throw AdminClientError(address: address, "GET /status answered \(response.status): \(response.text.prefix(200))")
        }
        do {
            return try GatewayStatus.decode(Data(response.body))
        } catch {
            throw AdminClientError(address: address, "GET /status: not the status JSON of a meshgate gateway: \(error)")
        }
    }

    /// Waits until `fd` is ready for `events`, or the deadline passes (an error).
    private static func wait(_ fd: Int32, for events: Int16, until deadline: ContinuousClock.Instant, address: String, doing: String)
        throws(AdminClientError)
    {
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw AdminClientError(address: address, "timed out \(doing)") }
            let ms = Int32(min(Double(left.components.seconds) * 1000 + Double(left.components.attoseconds) / 1e15 + 1, 60_000))
            var p = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&p, 1, ms)
            if rc > 0 { return }
            if rc < 0 && errno != EINTR { throw AdminClientError(address: address, "\(doing): poll: \(String(cString: strerror(errno)))") }
        }
    }

    /// A whole response in `bytes`, or nil when more must be read. Bodies are framed by
    /// `Content-Length`, or by the end of the connection.
    static func parse(_ bytes: [UInt8], address: String, atEOF: Bool) throws(AdminClientError) -> Response? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.firstRange(of: separator) else {
            if atEOF { throw AdminClientError(address: address, "not an HTTP response") }
            return nil
        }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw AdminClientError(address: address, "not an HTTP response (status line '\(statusLine.prefix(80))')")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let body = Array(bytes[end.upperBound...])
        if let lengthText = headers["content-length"], let length = Int(lengthText) {
            if body.count >= length { return Response(status: status, headers: headers, body: Array(body.prefix(length))) }
            if atEOF { throw AdminClientError(address: address, "the response ended after \(body.count) of \(length) body bytes") }
            return nil
        }
        return atEOF ? Response(status: status, headers: headers, body: body) : nil
    }
}

/// The admin endpoint could not be read.
public struct AdminClientError: Error, CustomStringConvertible, Sendable {
    public let address: String
    public let reason: String

    init(address: String, _ reason: String) {
        self.address = address
        self.reason = reason
    }

    public var description: String { "admin endpoint \(address): \(reason)" }
}
