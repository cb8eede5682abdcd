import Foundation
import MeshgateLoad
#if canImport(Glibc)
import Glibc
#endif

extension TestClient.ReadOutcome {
    /// The connection was reset (after any number of bytes).
    var isReset: Bool {
        if case .reset = self { return true }
        return false
    }
}

/// How a reset on one side of a proxied connection reaches the other side, driven the same way
/// for the plain proxy and the mTLS chain.
enum ResetPropagation {
    /// How a client saw its backend reset mid-stream: the error of its write, or else how its
    /// read ended.
    struct ClientView {
        let writeError: String?
        let readOutcome: TestClient.ReadOutcome?
    }

    /// Connects to `entry` (whose backend resets after 100 000 bytes), writes 200 000 bytes and,
    /// when the write went through, reads to the end. The reset reaches the client either while
    /// it is still writing (the write fails) or when it reads; a clean EOF would be the bug.
    static func fromBackend(entry: Endpoint) throws -> ClientView {
        let fd = try TestClient.connect(entry)
        defer { close(fd) }
        do { _ = try TestClient.writeAll(fd: fd, pattern: 1, count: 200_000) } catch {
            return ClientView(writeError: "\(error)", readOutcome: nil)
        }
        return ClientView(writeError: nil, readOutcome: TestClient.readAll(fd: fd, timeout: .seconds(10)).0)
    }

    /// Connects to `entry` (whose upstream is `backendSide`), writes 10 000 bytes of pattern 3,
    /// lets the backend read them, then resets the client side. Returns what the backend read
    /// first and how its read went on after the reset.
    static func fromClient(entry: Endpoint, backendSide: RawListener, acceptTimeout: Double) throws
        -> (first: [UInt8], outcome: TestClient.ReadOutcome)
    {
        let fd = try TestClient.connect(entry)
        _ = try TestClient.writeAll(fd: fd, pattern: 3, count: 10_000)
        let accepted = try backendSide.accept(timeout: acceptTimeout)
        defer { close(accepted) }
        let first = TestClient.read(fd: accepted, count: 10_000, timeout: .seconds(10))
        TestClient.closeWithReset(fd: fd)
        let (outcome, _) = TestClient.readAll(fd: accepted, timeout: .seconds(10))
        return (first, outcome)
    }
}
