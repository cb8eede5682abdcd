import Foundation
import MeshgateLoop
import MeshgateNames
import MeshgateTLS
@testable import MeshgateDiscovery
@testable import MeshgateProxy
import MeshgateTestKit

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PKI for the `TLSStream` and `DiscoveryServer` tests, made once per test process with
/// the test kit's `TestPKI` (the `openssl` command line): one anchor (`bundle.pem`) signing ECDSA P-256 leaves that carry
/// their identity as DNS and SPIFFE URI SANs (serverAuth + clientAuth):
///
/// - `east`: `spiffe://cluster.local/ns/meshgate-east/sa/gateway`, the serving gateway;
/// - `west`: `spiffe://cluster.local/ns/meshgate-west/sa/gateway`, a linked cluster's gateway (the asking mirror);
/// - `other`: `spiffe://cluster.local/ns/meshgate-west/sa/other`, another identity of that cluster.
enum StreamTestPKI {
    static let eastIdentity = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-east/sa/gateway")!
    static let westIdentity = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-west/sa/gateway")!
    static let otherIdentity = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-west/sa/other")!

    static func directory() throws -> String { try generated.get().directory }

    /// A context for `role` presenting `leaf` (`east`, `west` or `other`).
    static func context(_ role: TLSRole, leaf: String) throws -> TLSContext {
        try generated.get().context(role, leaf: leaf)
    }

    /// The serving gateway's credentials (east, both roles).
    static func gatewayCredentials() throws -> GatewayCredentials {
        GatewayCredentials(server: try context(.server, leaf: "east"), client: try context(.client, leaf: "east"))
    }

    private static let generated = ProcessFixture.make {
        let pki = try TestPKI.temporary("stream")
        let anchor = try pki.anchor("anchor", commonName: "stream test anchor")
        try pki.writeBundle([anchor])
        try pki.leaf("east", serviceAccount: "gateway", namespace: "meshgate-east", signedBy: anchor)
        try pki.leaf("west", serviceAccount: "gateway", namespace: "meshgate-west", signedBy: anchor)
        try pki.leaf("other", serviceAccount: "other", namespace: "meshgate-west", signedBy: anchor)
        return pki
    }
}

/// Connected `TLSStream` pairs over loopback TCP: the client side from `TLSStream.connect`, the
/// server side from `TLSStream.accept` (presenting `east`).
enum StreamTestPair {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// A listening socket on 127.0.0.1 and its address.
    static func listener() throws -> (fd: Int32, address: SocketAddress) {
        let fd = try Socket.listen(on: try SocketAddress.resolve("127.0.0.1:0"), reusePort: false)
        return (fd, try Socket.localAddress(fd))
    }

    /// Accepts one connection on the non-blocking listener `fd` within `seconds`.
    static func acceptOne(_ fd: Int32, seconds: Double = 5) throws -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 50) > 0 {
                let c = Glibc.accept(fd, nil, nil)
                if c >= 0 { return c }
            }
        }
        throw Failure(description: "no connection to accept within \(seconds) s")
    }

    /// A client (presenting `clientLeaf`, expecting east) and the server side of the same connection.
    static func make(clientLeaf: String = "west") throws -> (client: TLSStream, server: TLSStream) {
        let (listenFD, address) = try listener()
        defer { Glibc.close(listenFD) }
        let clientContext = try StreamTestPKI.context(.client, leaf: clientLeaf)
        let serverContext = try StreamTestPKI.context(.server, leaf: "east")
        let result = LockedBox<Result<TLSStream, TLSStreamError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let t = Thread {
            do throws(TLSStreamError) {
                let s = try TLSStream.connect(
                    to: address, context: clientContext, expected: StreamTestPKI.eastIdentity, deadline: .now + .seconds(5))
                result.value = .success(s)
            } catch {
                result.value = .failure(error)
            }
            done.signal()
        }
        t.start()
        let server: TLSStream
        do {
            let fd = try acceptOne(listenFD)
            server = try TLSStream.accept(fd: fd, context: serverContext, deadline: .now + .seconds(5))
        } catch {
            _ = done.wait(timeout: .now() + 6)
            throw error
        }
        guard done.wait(timeout: .now() + 6) == .success, let r = result.value else {
            throw Failure(description: "the client did not finish connecting")
        }
        switch r {
        case .success(let client): return (client, server)
        case .failure(let e): throw Failure(description: "client: \(e)")
        }
    }
}
