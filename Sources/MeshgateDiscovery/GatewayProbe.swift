import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import MeshgateLoop
import MeshgateNames
import MeshgateTLS
import MeshgateWire

/// One probe of a gateway (docs/wire.md): a new mTLS connection proving `expected`, a `probe`
/// header with a random nonce, and the same header back. Used by mirrors and `meshgate check`.
public enum GatewayProbe {
    /// Why a probe failed after connecting.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Whether `error` is a local failure: our own descriptors, memory or local ports ran out
    /// (EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL). Such a probe says nothing about the
    /// remote gateway.
    public static func isLocalFailure(_ error: any Error) -> Bool {
        guard let e = (error as? TLSStreamError)?.errno else { return false }
        return [EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL].contains(e.rawValue)
    }

    /// Runs `body(0..<count)` on one thread each and returns when all have returned (each
    /// body bounds itself, as a probe does with its timeout).
    public static func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for i in 0..<count {
            group.enter()
            let t = Thread {
                body(i)
                group.leave()
            }
            t.name = "probe-\(i)"
            t.start()
        }
        group.wait()
    }

    /// The round trip from sending the header to reading it back; everything (connect, TLS,
    /// answer) must happen within `timeout`.
    public static func probe(
        _ address: SocketAddress, context: TLSContext, expected: WorkloadIdentity, timeout: Duration,
        isCancelled: @escaping @Sendable () -> Bool = { false }
    ) throws -> Duration {
        let deadline = ContinuousClock.now + timeout
        let stream = try TLSStream.connect(to: address, context: context, expected: expected, deadline: deadline, isCancelled: isCancelled)
        defer { stream.close() }
        let nonce = UInt64.random(in: 1...UInt64.max)
        let header = try TransportHeader.probe(nonce: nonce).encoded()
        let sent = ContinuousClock.now
        try stream.write(header, deadline: deadline)
        var answer: [UInt8] = []
        while true {
            let bytes = try stream.read(max: 64, deadline: deadline)
            if bytes.isEmpty { throw Failure(description: "closed before answering") }
            answer += bytes
            switch TransportHeader.decode(answer) {
            case .needMoreBytes: continue
            case .invalid(let error): throw Failure(description: "answered with a bad header (\(error))")
            case .complete(let decoded, _):
                guard decoded == .probe(nonce: nonce) else { throw Failure(description: "answered another probe") }
                return ContinuousClock.now - sent
            }
        }
    }
}
