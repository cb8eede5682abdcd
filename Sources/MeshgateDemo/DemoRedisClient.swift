#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Just enough of RESP (the Redis protocol) for PING, SET and GET on one connection.
final class DemoRedisClient {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var sent = 0
    private(set) var received = 0

    init(port: UInt16, timeout: Double = 5) throws {
        switch DemoSockets.connect(port, timeout: timeout) {
        case .success(let s): fd = s
        case .failure(let e): throw DemoFailure("redis on 127.0.0.1:\(port): \(e)")
        }
    }

    deinit { close(fd) }

    /// The RESP encoding of a command: an array of bulk strings.
    static func encode(_ words: [String]) -> [UInt8] {
        var out = "*\(words.count)\r\n"
        for w in words { out += "$\(w.utf8.count)\r\n\(w)\r\n" }
        return Array(out.utf8)
    }

    /// Sends one command; its reply: a simple string, an error (`-ERR …`), an integer as text,
    /// or a bulk string (nil for a null bulk).
    func command(_ words: [String]) throws -> String? {
        let bytes = Self.encode(words)
        guard DemoSockets.writeAll(fd, bytes) else { throw DemoFailure("redis: \(DemoSockets.Errno(errno)) while sending \(words[0])") }
        sent += bytes.count
        let line = try readLine()
        guard let kind = line.first else { throw DemoFailure("redis: an empty reply to \(words[0])") }
        let rest = String(line.dropFirst())
        switch kind {
        case "+", ":": return rest
        case "-": return "-" + rest
        case "$":
            guard let length = Int(rest) else { throw DemoFailure("redis: a bad bulk length '\(rest)'") }
            if length < 0 { return nil }
            let data = try readBytes(length + 2)
            return String(decoding: data.prefix(length), as: UTF8.self)
        default:
            throw DemoFailure("redis: an unexpected reply '\(line.prefix(40))' to \(words[0])")
        }
    }

    private func fill() throws {
        let n = DemoSockets.receive(fd, into: &buffer)
        if n > 0 {
            received += n
        } else if n == 0 {
            throw DemoFailure("redis: the connection closed")
        } else {
            throw DemoFailure("redis: \(DemoSockets.Errno(errno))")
        }
    }

    private func readLine() throws -> String {
        while true {
            if let r = buffer.firstRange(of: [13, 10]) {
                let line = String(decoding: buffer[..<r.lowerBound], as: UTF8.self)
                buffer.removeSubrange(..<r.upperBound)
                return line
            }
            try fill()
        }
    }

    private func readBytes(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        let out = Array(buffer.prefix(count))
        buffer.removeFirst(count)
        return out
    }
}
