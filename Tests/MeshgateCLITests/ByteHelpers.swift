import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MeshgateLoad
import MeshgateTestKit

extension Array where Element == UInt8 {
    /// `count` bytes of `PatternStream(seed:)`.
    static func pattern(seed: UInt64, count: Int) -> [UInt8] { PatternStream.bytes(seed: seed, count: count) }
}

/// SHA-256 hex of `data`.
func sha256(_ data: Data) -> String { SHA256Hasher.hash(data) }
func sha256(_ bytes: [UInt8]) -> String { SHA256Hasher.hash(bytes) }

/// Sends `bytes` on `fd` on a background thread while the caller reads; returns when both are
/// done: the SHA-256 of what came back and how the read ended (`count` bytes expected, then
/// the read stops; it does not wait for EOF).
func echoExchange(fd: Int32, bytes: [UInt8], timeout: Duration = .seconds(30)) -> (sha256: String, received: Int, writeError: String?) {
    let done = DispatchSemaphore(value: 0)
    let box = LockedBox<String?>(nil)
    Thread {
        do { try TestClient.writeAll(fd: fd, bytes: bytes, timeout: timeout) } catch { box.value = "\(error)" }
        done.signal()
    }.start()
    let back = TestClient.read(fd: fd, count: bytes.count, timeout: timeout)
    _ = done.wait(timeout: .now() + 60)
    return (sha256(back), back.count, box.value)
}
