import Foundation
import Logging
import MeshgateKube

@testable import MeshgateControl
import MeshgateTestKit

/// A real test cluster for a test: `scripts/apiserver/cluster --dir` (etcd + the test API server,
/// docs/kubernetes-test-apiserver.md), stopped (and its folder removed) by `stop()`.
final class TestKubeCluster: @unchecked Sendable {
    let dir: String
    let process: Process
    /// `kubeconfig-admin` of the cluster (a token that may do everything).
    let kubeconfig: String
    let server: String

    /// The repository's root, from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Starts a cluster and waits (at most 60 s) for its `cluster.json`.
    init() throws {
        dir = NSTemporaryDirectory() + "meshgate-mirror-\(UUID().uuidString.prefix(8))"
        process = Process()
        process.executableURL = URL(fileURLWithPath: "\(Self.root)/scripts/apiserver/cluster")
        process.arguments = ["--dir", dir]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let info = "\(dir)/cluster.json"
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: info) {
            guard process.isRunning, Date() < deadline else {
                if process.isRunning { process.terminate() }
                throw TestKubeClusterError(message: "the test cluster did not start (scripts/apiserver/cluster --dir \(dir))")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Thread.sleep(forTimeInterval: 0.2)  // written, not necessarily flushed: read it once it is whole
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: info))) as? [String: Any] ?? [:]
        server = json["server"] as? String ?? ""
        kubeconfig = (json["kubeconfigs"] as? [String: String])?["admin"] ?? "\(dir)/kubeconfig-admin"
    }

    /// The API settings of the admin kubeconfig.
    var api: KubernetesAPISettings { KubernetesAPISettings(source: .kubeconfig(path: kubeconfig, context: nil)) }

    /// A client with the admin token (shut it down).
    func client() throws -> KubeClient {
        KubeClient(config: try api.clientConfig(), logger: Logger(label: "test-kube"))
    }

    /// Creates namespaces (the test API server, like Kubernetes, refuses objects in a namespace
    /// that does not exist).
    func makeNamespaces(_ names: [String]) async throws {
        let client = try client()
        for name in names {
            do {
                _ = try await client.create(TestNamespace(metadata: KubeObjectMeta(name: name)))
            } catch {
                if !error.isConflict { throw error }  // "default" exists from the start
            }
        }
        await client.shutdown()
    }

    /// Stops etcd and the server and removes the folder (SIGTERM; the script cleans up).
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    }
}

struct TestKubeClusterError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A core/v1 Namespace, for tests.
struct TestNamespace: KubeResource {
    static let kind = KubeKind(group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false)
    var metadata: KubeObjectMeta
}
