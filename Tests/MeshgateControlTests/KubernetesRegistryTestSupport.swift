import Foundation
import Logging
import MeshgateDiscovery
import MeshgateKube
import MeshgateLoop
import MeshgateProxy
import MeshgateTLS
import MeshgateWire

@testable import MeshgateControl

#if canImport(Glibc)
    import Glibc
#endif

// Helpers of KubernetesRegistryIntegrationTests (the test cluster is TestKubeCluster): a free
// port, a cluster with a fresh namespace, a TCP echo server and a connection through a gateway's
// inbound port as a peer gateway.

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to 0, read back, closed).
func freeLoopbackPort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var sin = sockaddr_in()
    sin.sin_family = sa_family_t(AF_INET)
    sin.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &sin) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
            _ = bind(fd, p, length)
            return getsockname(fd, p, &length)
        }
    }
    return UInt16(bigEndian: sin.sin_port)
}

/// A test cluster with an admin client and a fresh namespace `<prefix>-<6 random characters>`
/// (the test API server refuses objects in a namespace that does not exist). `stop()` shuts the
/// client down and stops the cluster.
struct RegistryTestCluster {
    let cluster: TestKubeCluster
    let client: KubeClient
    let namespace: String

    init(namespacePrefix: String) async throws {
        let cluster = try TestKubeCluster()
        do {
            let client = try cluster.client()
            let namespace = "\(namespacePrefix)-\(UUID().uuidString.prefix(6).lowercased())"
            do {
                _ = try await client.create(TestNamespace(metadata: .init(name: namespace)))
            } catch {
                client.syncShutdown()
                throw error
            }
            (self.cluster, self.client, self.namespace) = (cluster, client, namespace)
        } catch {
            cluster.stop()
            throw error
        }
    }

    func stop() {
        client.syncShutdown()
        cluster.stop()
    }
}

/// A TCP echo server on 127.0.0.1 (an endpoint for the gateway to connect to): each connection
/// gets back what it sends, until it closes. `stop()` closes the listener.
final class RegistryEchoServer: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                bind(fd, p, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, p, &length) == 0
            }
        }
        guard ok else {
            close(fd)
            throw TestKubeClusterError(message: "echo server: bind/listen failed")
        }
        port = UInt16(bigEndian: sin.sin_port)
        let listener = fd
        Thread.detachNewThread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                Thread.detachNewThread {
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    while true {
                        let n = read(client, &buffer, buffer.count)
                        if n <= 0 { break }
                        _ = buffer.withUnsafeBytes { write(client, $0.baseAddress, n) }
                    }
                    close(client)
                }
            }
        }
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}

/// Connects to `gateway` as cluster west's gateway (the mirror tests' PKI), asks for service
/// `target` and sends `payload`; returns what comes back (up to `payload.count` bytes, ≤ 5 s).
func exchangeThroughGateway(_ gateway: SocketAddress, target: ConnectTarget, payload: [UInt8]) throws -> [UInt8] {
    let deadline = ContinuousClock.now + .seconds(5)
    let stream = try TLSStream.connect(
        to: gateway, context: try MirrorTestPKI.context(.client, leaf: "west"), expected: MirrorTestPKI.eastIdentity,
        deadline: deadline)
    defer { stream.close() }
    try stream.write(try TransportHeader.connect(target, clientIdentity: nil).encoded() + payload, deadline: deadline)
    var answer: [UInt8] = []
    while answer.count < payload.count {
        let bytes = try stream.read(deadline: deadline)
        if bytes.isEmpty { break }
        answer += bytes
    }
    return answer
}
