import Foundation
import Logging
import MeshgateKube
import MeshgateProxy
import MeshgateWire
import Testing

@testable import MeshgateControl
import MeshgateTestKit

#if canImport(Glibc)
    import Glibc
#endif


/// `registry.kubernetes` end to end: a real `GatewayController` reading a real test cluster
/// (`scripts/apiserver/cluster`: etcd + the test API server); Services and EndpointSlices
/// written with `KubeClient` show up among the gateway's published services, and go.
@Suite(.serialized) struct KubernetesRegistryIntegrationTests {
    static let exported = ["mirror.linkerd.io/exported": "true"]

    /// gateway.yaml of cluster east (the mirror tests' PKI) with `registry.kubernetes` at `kubeconfig`.
    static func gateway(kubeconfig: String, namespace: String) throws -> String {
        let pki = try MirrorTestPKI.directory()
        let dir = NSTemporaryDirectory() + "meshgate-kreg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let yaml = """
            cluster: east
            identity: {cert: \(pki)/east.pem, key: \(pki)/east.key, trust: \(pki)/bundle.pem}
            inbound: {listen: 127.0.0.1:\(freeLoopbackPort())}
            outbound: {bind: 127.0.0.1}
            loops: 1
            registry:
              kubernetes:
                kubeconfig: \(kubeconfig)
                namespaces: [\(namespace)]

            """
        try yaml.write(toFile: dir + "/gateway.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    /// An exported Service `ns/name` with one TCP port named "tcp".
    static func exportedService(_ name: String, _ ns: String, port: Int, targetPort: KubeIntOrString) -> KubeService {
        KubeService(
            metadata: KubeObjectMeta(name: name, namespace: ns, labels: exported),
            spec: .init(ports: [.init(name: "tcp", port: port, targetPort: targetPort)]))
    }

    static func slice(_ service: String, _ ns: String, ready: Bool, port: Int) -> KubeEndpointSlice {
        KubeEndpointSlice(
            metadata: KubeObjectMeta(name: "\(service)-abc", namespace: ns, labels: [KubernetesRegistry.serviceNameLabel: service]),
            endpoints: [
                .init(addresses: ["127.0.0.1"], conditions: .init(ready: ready)),
                .init(addresses: ["127.0.0.2"], conditions: .init(ready: true)),
            ],
            ports: [.init(name: "tcp", port: port, protocol: "TCP")])
    }

    /// A `GatewayController` on `dir`/gateway.yaml, logging nowhere, started; end it with `stop(_:)`.
    static func startController(_ dir: String) throws -> GatewayController {
        let controller = try GatewayController(
            configPath: dir + "/gateway.yaml", logger: Logger(label: "kreg", factory: { _ in SwiftLogNoOpLogHandler() }))
        try controller.start()
        return controller
    }

    /// Stops what `startController` started: the file watching and the server (waiting ≤ 10 s).
    static func stop(_ controller: GatewayController) {
        controller.stopWatching()
        controller.server.stop()
        _ = controller.server.wait(timeout: .seconds(10))
    }

    /// The published service `ns/name`'s endpoints on `port`, as text; nil when not published.
    static func published(_ c: GatewayController, _ key: String, port: UInt16) -> [String]? {
        guard let s = c.publisher.snapshot.services[key] else { return nil }
        return (s.endpoints[port] ?? []).map(\.description).sorted()
    }

    @Test func exportedServicesAndTheirReadyEndpointsArePublishedAndUnlabelledOnesGo() async throws {
        let kube = try await RegistryTestCluster(namespacePrefix: "shop")
        defer { kube.stop() }
        let (cluster, client, ns) = (kube.cluster, kube.client, kube.namespace)
        // One exported Service before the gateway starts, one after.
        _ = try await client.create(Self.exportedService("cart", ns, port: 7000, targetPort: .string("tcp")))
        _ = try await client.create(Self.slice("cart", ns, ready: true, port: 7001))

        let dir = try Self.gateway(kubeconfig: cluster.kubeconfig, namespace: ns)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let controller = try Self.startController(dir)
        defer { Self.stop(controller) }
        #expect(
            await eventually(timeout: .seconds(10)) { Self.published(controller, "\(ns)/cart", port: 7000) == ["127.0.0.1:7001", "127.0.0.2:7001"] })
        #expect(await eventually(timeout: .seconds(10)) { controller.readiness().isReady }, "\(controller.readiness().reasons)")
        let status = try #require(controller.status(traffic: nil).registry)
        #expect(status.source == "kubernetes" && status.server == cluster.server && status.synced && status.services == 1)
        #expect(status.syncAgeSeconds != nil && status.lastSync != nil)

        // A new exported Service (numbered targetPort) and an endpoint going not ready.
        _ = try await client.create(Self.exportedService("pay", ns, port: 8000, targetPort: .int(8001)))
        _ = try await client.create(Self.slice("pay", ns, ready: true, port: 8001))
        var cartSlice = try await client.get(KubeEndpointSlice.self, namespace: ns, name: "cart-abc")
        cartSlice.endpoints?[0].conditions = .init(ready: false)
        _ = try await client.replace(cartSlice)
        #expect(await eventually(timeout: .seconds(10)) { Self.published(controller, "\(ns)/pay", port: 8000) == ["127.0.0.1:8001", "127.0.0.2:8001"] })
        #expect(await eventually(timeout: .seconds(10)) { Self.published(controller, "\(ns)/cart", port: 7000) == ["127.0.0.2:7001"] })
        #expect(controller.publisher.snapshot.services["\(ns)/pay"]?.exported == true)

        // Unlabelled: gone from the published services.
        var cart = try await client.get(KubeService.self, namespace: ns, name: "cart")
        cart.metadata.labels = ["app": "cart"]
        _ = try await client.replace(cart)
        #expect(await eventually(timeout: .seconds(10)) { Self.published(controller, "\(ns)/cart", port: 7000) == nil })
        #expect(Self.published(controller, "\(ns)/pay", port: 8000) != nil)

        // The API server goes away: the registry stays, /ready stays, the error and the age show.
        cluster.stop()
        #expect(await eventually(timeout: .seconds(15)) { controller.status(traffic: nil).registry?.lastError != nil })
        let down = try #require(controller.status(traffic: nil).registry)
        #expect(Self.published(controller, "\(ns)/pay", port: 8000) == ["127.0.0.1:8001", "127.0.0.2:8001"])
        #expect(controller.readiness().isReady, "\(controller.readiness().reasons)")
        try await Task.sleep(for: .milliseconds(1200))
        let later = try #require(controller.status(traffic: nil).registry)
        #expect((later.syncAgeSeconds ?? 0) > (down.syncAgeSeconds ?? 0) + 1, "the sync age grows while the API is down")
    }

    @Test func aConnectionFromAPeerGatewayReachesTheEndpointFromTheSlice() async throws {
        let echo = try RegistryEchoServer()
        defer { echo.stop() }
        let kube = try await RegistryTestCluster(namespacePrefix: "echo")
        defer { kube.stop() }
        let (cluster, client, ns) = (kube.cluster, kube.client, kube.namespace)
        _ = try await client.create(Self.exportedService("echo", ns, port: 9000, targetPort: .string("echo")))
        _ = try await client.create(
            KubeEndpointSlice(
                metadata: .init(name: "echo-1", namespace: ns, labels: [KubernetesRegistry.serviceNameLabel: "echo"]),
                endpoints: [.init(addresses: ["127.0.0.1"], conditions: .init(ready: true))],
                ports: [.init(name: "tcp", port: Int(echo.port), protocol: "TCP")]))
        let dir = try Self.gateway(kubeconfig: cluster.kubeconfig, namespace: ns)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let controller = try Self.startController(dir)
        defer { Self.stop(controller) }
        #expect(await eventually(timeout: .seconds(10)) { Self.published(controller, "\(ns)/echo", port: 9000) == ["127.0.0.1:\(echo.port)"] })
        let payload = Array("hello through the gateway \(UUID())".utf8)
        let target = ConnectTarget(namespace: ns, name: "echo", port: 9000)
        let address = controller.server.boundAddress
        let answer = try await Self.onThread { try exchangeThroughGateway(address, target: target, payload: payload) }
        #expect(answer == payload)
        // Unexported: the gateway refuses the same request (nothing comes back).
        var service = try await client.get(KubeService.self, namespace: ns, name: "echo")
        service.metadata.labels = nil
        _ = try await client.replace(service)
        #expect(await eventually(timeout: .seconds(10)) { Self.published(controller, "\(ns)/echo", port: 9000) == nil })
        let refused = try? await Self.onThread { try exchangeThroughGateway(address, target: target, payload: payload) }
        #expect(refused == nil || refused == [])
    }

    /// Runs blocking socket work on its own thread, off the test's concurrency threads.
    static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { done in
            Thread.detachNewThread { done.resume(with: Result { try work() }) }
        }
    }

    @Test func aServiceExportExportsAnUnlabelledService() async throws {
        let kube = try await RegistryTestCluster(namespacePrefix: "mcs")
        defer { kube.stop() }
        let (cluster, client, ns) = (kube.cluster, kube.client, kube.namespace)
        _ = try await client.create(
            KubeService(metadata: .init(name: "db", namespace: ns), spec: .init(ports: [.init(name: "tcp", port: 5432)])))
        _ = try await client.create(Self.slice("db", ns, ready: true, port: 5432))
        let dir = try Self.gateway(kubeconfig: cluster.kubeconfig, namespace: ns)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let controller = try Self.startController(dir)
        defer { Self.stop(controller) }
        #expect(await eventually(timeout: .seconds(10)) { controller.status(traffic: nil).registry?.synced == true })
        #expect(Self.published(controller, "\(ns)/db", port: 5432) == nil)
        _ = try await client.create(KubeServiceExport(metadata: .init(name: "db", namespace: ns)))
        #expect(await eventually(timeout: .seconds(10)) { Self.published(controller, "\(ns)/db", port: 5432) == ["127.0.0.1:5432", "127.0.0.2:5432"] })
        try await client.delete(KubeServiceExport.self, namespace: ns, name: "db", preconditionUID: nil, preconditionResourceVersion: nil)
        #expect(await eventually(timeout: .seconds(10)) { Self.published(controller, "\(ns)/db", port: 5432) == nil })
    }

    @Test func beforeTheFirstSyncNotReadyForAtMostTenSeconds() async throws {
        // A kubeconfig whose server nothing listens on (no CA needed: nothing ever answers).
        let dir = try Self.gateway(kubeconfig: "kubeconfig", namespace: "default")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = freeLoopbackPort()
        let kubeconfig = """
            {"apiVersion": "v1", "kind": "Config", "current-context": "c",
             "clusters": [{"name": "t", "cluster": {"server": "https://127.0.0.1:\(port)", "insecure-skip-tls-verify": true}}],
             "users": [{"name": "u", "user": {"token": "x"}}],
             "contexts": [{"name": "c", "context": {"cluster": "t", "user": "u"}}]}
            """
        try kubeconfig.write(toFile: dir + "/kubeconfig", atomically: true, encoding: .utf8)
        let controller = try Self.startController(dir)
        defer { Self.stop(controller) }
        let waiting = controller.readiness().reasons.filter { $0.hasPrefix("registry: waiting for the first sync from https://127.0.0.1:\(port)") }
        #expect(waiting.count == 1, "\(controller.readiness().reasons)")
        #expect(await eventually(timeout: .seconds(10)) { controller.status(traffic: nil).registry?.lastError != nil })
        let status = try #require(controller.status(traffic: nil).registry)
        #expect(!status.synced && status.services == 0 && status.lastSync == nil && status.syncAgeSeconds == nil)
        // Ten seconds on: ready with an empty registry, the error still in /status.
        let later = controller.readiness(now: Date().addingTimeInterval(GatewayController.firstSyncWait + 1))
        #expect(later.isReady, "\(later.reasons)")
    }

    @Test func checkReportsTheSourceAndTheAPIServer() async throws {
        let kube = try await RegistryTestCluster(namespacePrefix: "chk")
        defer { kube.stop() }
        let (cluster, client, ns) = (kube.cluster, kube.client, kube.namespace)
        _ = try await client.create(
            KubeService(metadata: .init(name: "a", namespace: ns, labels: Self.exported), spec: .init(ports: [.init(port: 1)])))
        let dir = try Self.gateway(kubeconfig: cluster.kubeconfig, namespace: ns)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // `meshgate check` is synchronous (it waits for its API calls on a semaphore): run it on
        // its own thread, as the CLI does, not on one of the test's few concurrency threads.
        let path = dir + "/gateway.yaml"
        let run = { () async -> [CheckResult] in
            await withCheckedContinuation { done in
                Thread.detachNewThread {
                    done.resume(returning: GatewayCheck.run(configPath: path, now: Date()) { _ in Date().addingTimeInterval(30 * 86400) })
                }
            }
        }
        let good = await run()
        let source = try #require(good.first { $0.name == "registry source" })
        #expect(source.status == .ok && source.detail.contains(cluster.server) && source.detail.contains("namespaces \(ns)"))
        let api = try #require(good.first { $0.name.hasPrefix("API server") })
        #expect(api.status == .ok && api.detail.hasPrefix("\(cluster.server) reachable (") && api.detail.hasSuffix("1 exported service(s)"), "\(api)")

        // A token the server does not know: 401, a failure with a hint. (The kubeconfig and
        // the CA copied here: they outlive the cluster's folder for the last step.)
        try FileManager.default.copyItem(atPath: cluster.dir + "/ca.crt", toPath: dir + "/ca.crt")
        let own = dir + "/kubeconfig"
        let text = try String(contentsOfFile: cluster.kubeconfig, encoding: .utf8)
            .replacingOccurrences(of: cluster.dir + "/ca.crt", with: dir + "/ca.crt")
        try text.replacingOccurrences(of: "admin-token-0123456789", with: "not-a-token").write(
            toFile: own, atomically: true, encoding: .utf8)
        try String(contentsOfFile: dir + "/gateway.yaml", encoding: .utf8)
            .replacingOccurrences(of: cluster.kubeconfig, with: own).write(toFile: dir + "/gateway.yaml", atomically: true, encoding: .utf8)
        let refused = try #require(await run().first { $0.name.hasPrefix("API server") })
        #expect(refused.status == .failed && refused.detail.hasPrefix("\(cluster.server): 401"), "\(refused)")
        #expect(refused.hint?.contains("credentials") == true)

        // Nobody listening: a transport failure.
        try text.write(toFile: own, atomically: true, encoding: .utf8)
        cluster.stop()
        let down = try #require(await run().first { $0.name.hasPrefix("API server") })
        #expect(down.status == .failed && down.detail.hasPrefix("\(cluster.server): Transport"), "\(down)")
    }
}
