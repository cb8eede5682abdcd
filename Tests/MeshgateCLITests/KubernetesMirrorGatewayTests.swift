import Foundation
import Logging
import MeshgateKube
import Testing
import MeshgateTestKit

/// A real east gateway with `mirror.kubernetes.services: true`, linked to west and north, writes
/// `<svc>-<cluster>` Services to the test API server (scripts/apiserver/cluster, a real etcd):
/// targetPort = the route's listener port; `link remove` deletes the link's Services.
@Suite(.serialized) struct KubernetesMirrorGatewayTests {
    /// `scripts/apiserver/cluster --dir DIR`, stopped by `stop()`.
    final class Cluster {
        let process = Process()
        let dir = NSTemporaryDirectory() + "meshgate-gw-kube-\(UUID().uuidString.prefix(8))"
        var kubeconfig: String { dir + "/kubeconfig-admin" }

        init() throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().path
            process.executableURL = URL(fileURLWithPath: root + "/scripts/apiserver/cluster")
            process.arguments = ["--dir", dir]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            // cluster.json is written last, once the API server listens: wait until it is whole.
            let written = waitUntil(timeout: 60) {
                FileManager.default.contents(atPath: self.dir + "/cluster.json").flatMap { try? JSONSerialization.jsonObject(with: $0) } != nil
            }
            guard written else {
                process.terminate()
                throw TestFailure("the test cluster did not start in \(dir)")
            }
        }

        func client() throws -> KubeClient {
            KubeClient(config: try KubeClientConfig.kubeconfig(path: kubeconfig), logger: Logger(label: "test"))
        }

        func stop() {
            guard process.isRunning else { return }
            process.terminate()
            _ = waitUntil(timeout: 20) { !self.process.isRunning }
        }
    }

    struct Namespace: KubeResource {
        static let kind = KubeKind(group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false)
        var metadata: KubeObjectMeta
    }

    static func service(_ client: KubeClient, _ name: String) async -> KubeService? {
        try? await client.get(KubeService.self, namespace: "default", name: name)
    }

    @Test("east writes echo-west and echo-north with targetPort = the route's port; link remove deletes echo-north")
    func gatewayWritesMirroredServices() async throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        let client = try cluster.client()
        _ = try await client.create(Namespace(metadata: KubeObjectMeta(name: "meshgate-multicluster")))
        let mesh = try MirrorMesh(label: "mirror-kube-services")
        defer { mesh.shutdown() }
        mesh.eastExtra = """

            mirror:
              kubernetes:
                services: true
                gatewaySelector: {app: meshgate-gateway}
                kubeconfig: \(cluster.kubeconfig)
                lease: {namespace: meshgate-multicluster, duration: 3s, retry: 500ms}
                holder: east-0

            """
        #expect(mesh.east.stop() == 0)
        try mesh.restart("east")
        try mesh.link()
        let westPort = try #require(mesh.waitRoute("default/echo-west:7000", cluster: "west"), "\(mesh.logs)")
        let northPort = try #require(mesh.waitRoute("default/echo-north:7000", cluster: "north"), "\(mesh.logs)")

        #expect(await eventually(timeout: .seconds(15)) { await Self.service(client, "echo-west") != nil }, "\(mesh.east.logTail)")
        let west = try #require(await Self.service(client, "echo-west"))
        #expect(west.spec.ports == [KubeService.Port(name: nil, port: 7000, targetPort: .int(Int(westPort)), protocol: "TCP")])
        #expect(west.spec.selector == ["app": "meshgate-gateway"])
        #expect(west.metadata.labels?["mirror.linkerd.io/cluster-name"] == "west")
        #expect(west.metadata.labels?["app.kubernetes.io/managed-by"] == "meshgate")
        #expect(west.metadata.annotations?["meshgate.io/remote-service"] == "default/echo")
        #expect(await eventually(timeout: .seconds(15)) { await Self.service(client, "echo-north")?.spec.ports?.first?.targetPort == .int(Int(northPort)) })
        #expect(mesh.east.logLines(containing: "mirrored Service default/echo-west created").count == 1)

        try mesh.removeLink("north")
        #expect(await eventually(timeout: .seconds(15)) { await Self.service(client, "echo-north") == nil }, "\(mesh.east.logTail)")
        #expect(await Self.service(client, "echo-west")?.metadata.uid == west.metadata.uid)
        #expect(mesh.east.logLines(containing: "mirrored Service default/echo-north deleted (cluster north is not linked)").count == 1)
        // Each Service was written once: no rewrites while the routes stood still.
        #expect(mesh.east.logLines(containing: "mirrored Service default/echo-west updated").isEmpty)

        // Stopping east releases the Lease (holderIdentity cleared).
        #expect(mesh.east.stop() == 0, "\(mesh.east.logTail)")
        let lease = try await client.get(KubeLease.self, namespace: "meshgate-multicluster", name: "meshgate-mirror")
        #expect((lease.spec.holderIdentity ?? "").isEmpty, "\(lease)")
        await client.shutdown()
    }
}
