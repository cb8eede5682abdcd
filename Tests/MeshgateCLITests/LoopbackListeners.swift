import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Listening sockets on 127.0.0.1, from /proc/net/tcp (no connection needed to find out).
enum LoopbackListeners {
    static func isListening(port: UInt16) -> Bool { ports().contains(port) }

    /// Every port listening on 127.0.0.1 now: one read of /proc/net/tcp, for callers that ask
    /// about many ports at once. The file lists every socket, TIME_WAIT ones included (often
    /// ten thousand lines after a test run), so lines are read by their fixed layout
    /// (`sl: LOCAL:PORT REMOTE:PORT ST`), without splitting them into strings.
    static func ports() -> Set<UInt16> {
        guard let bytes = procBytes("/proc/net/tcp") else { return [] }
        var out = Set<UInt16>()
        bytes.withUnsafeBufferPointer { b in
            let n = b.count
            func hex(_ c: UInt8) -> UInt16? {
                switch c {
                case 48...57: return UInt16(c - 48)
                case 65...70: return UInt16(c - 55)
                case 97...102: return UInt16(c - 87)
                default: return nil
                }
            }
            var line = 0
            while line < n {
                let base = UnsafeRawPointer(b.baseAddress!)
                let next = memchr(base + line, 10, n - line).map { UnsafeRawPointer($0) - base } ?? n
                // The colon after `sl`, then: ' ' local(8) ':' port(4) ' ' remote(8) ':' port(4) ' ' st(2).
                var c = line
                while c < next && b[c] != 58 { c += 1 }
                if c + 31 < next, b[c + 30] == 48, b[c + 31] == 65,  // st "0A": LISTEN
                    Array(b[(c + 2)...(c + 10)]) == Array("0100007F:".utf8)
                {
                    var port: UInt16 = 0
                    var ok = true
                    for i in (c + 11)...(c + 14) {
                        guard let d = hex(b[i]) else { ok = false; break }
                        port = port << 4 | d
                    }
                    if ok { out.insert(port) }
                }
                line = next + 1
            }
        }
        return out
    }

    /// The whole of a /proc file. (Foundation's `String(contentsOfFile:)` reads a file whose
    /// size says 0 only up to its first page: with thousands of sockets on the host, a listener
    /// past the first 4 KiB of /proc/net/tcp was never seen.)
    static func procText(_ path: String) -> String? {
        procBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The whole of a /proc file, as bytes.
    static func procBytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return out
    }
}
