import Foundation
import MeshgateLoop
import MeshgateNames
import MeshgateTLS
@testable import MeshgateDiscovery
@testable import MeshgateProxy

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PKI for the `TLSStream` and `DiscoveryServer` tests, made once per test process with
/// the `openssl` command line: one anchor (`bundle.pem`) signing ECDSA P-256 leaves that carry
/// their identity as DNS and SPIFFE URI SANs (serverAuth + clientAuth):
///
/// - `east`: `spiffe://cluster.local/ns/meshgate-east/sa/gateway`, the serving gateway;
/// - `west`: `spiffe://cluster.local/ns/meshgate-west/sa/gateway`, a linked cluster's gateway (the asking mirror);
/// - `other`: `spiffe://cluster.local/ns/meshgate-west/sa/other`, another identity of that cluster.
enum StreamTestPKI {
    static let eastIdentity = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-east/sa/gateway")!
    static let westIdentity = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-west/sa/gateway")!
    static let otherIdentity = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-west/sa/other")!

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func directory() throws -> String {
        switch generated {
        case .success(let dir): return dir
        case .failure(let e): throw e
        }
    }

    /// A context for `role` presenting `leaf` (`east`, `west` or `other`).
    static func context(_ role: TLSRole, leaf: String) throws -> TLSContext {
        let dir = try directory()
        return try TLSContext(
            configuration: TLSConfiguration(
                role: role, certificateChainPath: "\(dir)/\(leaf).pem", privateKeyPath: "\(dir)/\(leaf).key",
                trustBundlePath: "\(dir)/bundle.pem"))
    }

    /// The serving gateway's credentials (east, both roles).
    static func gatewayCredentials() throws -> GatewayCredentials {
        GatewayCredentials(server: try context(.server, leaf: "east"), client: try context(.client, leaf: "east"))
    }

    private static let script = #"""
        set -euo pipefail
        cd "$1"
        exec 2>openssl.log
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
        key anchor.key
        openssl req -new -x509 -key anchor.key -subj "/CN=stream test anchor" -days 30 -sha256 \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -addext "subjectKeyIdentifier=hash" -out bundle.pem
        leaf() {
            local name=$1 sa=$2 ns=$3
            local dns="$sa.$ns.serviceaccount.identity.cluster.local"
            key "$name.key"
            openssl req -new -key "$name.key" -subj "/CN=$dns" -out "$name.csr"
            printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
                "extendedKeyUsage=serverAuth,clientAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid:always" \
                "subjectAltName=DNS:$dns,URI:spiffe://cluster.local/ns/$ns/sa/$sa" >"$name.ext"
            openssl x509 -req -in "$name.csr" -CA bundle.pem -CAkey anchor.key -set_serial "0x$(openssl rand -hex 8)" \
                -days 30 -sha256 -extfile "$name.ext" -out "$name.pem"
        }
        leaf east gateway meshgate-east
        leaf west gateway meshgate-west
        leaf other other meshgate-west
        """#

    private static let generated: Result<String, Failure> = {
        let dir = NSTemporaryDirectory() + "meshgate-stream-pki-\(getpid())"
        atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "meshgate-stream-pki-\(getpid())") }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            return .failure(Failure(description: "cannot create \(dir): \(error)"))
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script, "stream-test-pki", dir]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return .failure(Failure(description: "openssl script: \(error)")) }
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning {
            p.terminate()
            return .failure(Failure(description: "the openssl script did not finish within 60 s"))
        }
        guard p.terminationStatus == 0 else {
            let log = (try? String(contentsOfFile: dir + "/openssl.log", encoding: .utf8)) ?? ""
            return .failure(Failure(description: "the openssl script exited \(p.terminationStatus): \(log)"))
        }
        return .success(dir)
    }()
}

/// A value set from one thread and read from another.
final class StreamTestBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
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
        let result = StreamTestBox<Result<TLSStream, TLSStreamError>?>(nil)
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
