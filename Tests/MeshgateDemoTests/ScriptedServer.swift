import Foundation
import MeshgateTestKit

#if canImport(Glibc)
    import Glibc
#endif

/// A one-connection server on 127.0.0.1 that plays a script: for each turn it reads what the
/// client sent, then writes the turn's pieces one by one (20 ms apart, so that a reply arrives
/// split), and closes the connection after the last turn. What the client sent is kept.
final class ScriptedServer: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let received = LockedBox([UInt8]())
    private let done = DispatchSemaphore(value: 0)

    init(turns: [[String]]) throws {
        listener = LoopbackPorts.tcpSocket()
        guard listener >= 0, LoopbackPorts.bind(listener, port: 0) == 0, listen(listener, 1) == 0,
            let port = LoopbackPorts.boundPort(listener)
        else { throw TestFailure("cannot listen on 127.0.0.1: errno \(errno)") }
        self.port = port
        Thread { [self] in
            defer { done.signal() }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            defer { close(client) }
            var chunk = [UInt8](repeating: 0, count: 4096)
            for turn in turns {
                let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { return }
                received.modify { $0.append(contentsOf: chunk[0..<n]) }
                for (i, piece) in turn.enumerated() {
                    if i > 0 { usleep(20_000) }
                    _ = Array(piece.utf8).withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
            }
        }.start()
    }

    /// What the client sent, once the script is over (≤ 5 s).
    func clientBytes() -> String {
        _ = done.wait(timeout: .now() + 5)
        return String(decoding: received.value, as: UTF8.self)
    }

    deinit { close(listener) }
}
