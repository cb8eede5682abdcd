import Foundation
import Logging
import MeshgateKube
import MeshgateTestKit
import MeshgateWire
import Testing

@testable import MeshgateControl

/// The mirror writer against the real test API server over a real etcd (scripts/apiserver/cluster).
@Suite(.serialized) struct KubernetesMirrorWriterTests {
    static let selector = ["app": "meshgate-gateway"]
    static let identity = "spiffe://mesh.local/ns/meshgate-west/sa/gateway"

    /// The writer's input, changed by the test; counts the reads of each holder's writer (one at
    /// the start of every reconciliation pass).
    final class InputBox: @unchecked Sendable {
        private let lock = NSLock()
        private var routes: [MirroredServiceRoute] = []
        private var remote: [String: [String: DiscoveredService]] = [:]
        private var reads: [String: Int] = [:]

        func set(_ services: [(name: String, port: UInt16, listen: UInt16, portName: String)]) {
            lock.withLock {
                routes = services.map {
                    MirroredServiceRoute(
                        key: "default/\($0.name)-west:\($0.port)", cluster: "west",
                        target: ConnectTarget(namespace: "default", name: $0.name, port: $0.port),
                        identity: KubernetesMirrorWriterTests.identity,
                        listenerPort: $0.listen)
                }
                remote = [
                    "west": Dictionary(
                        uniqueKeysWithValues: services.map {
                            (
                                "default/\($0.name)",
                                DiscoveredService(namespace: "default", name: $0.name, ports: [$0.port], portNames: [$0.portName])
                            )
                        })
                ]
            }
        }

        /// The input, read by `holder`'s writer.
        func input(readBy holder: String) -> MirroredServiceInput {
            lock.withLock {
                reads[holder, default: 0] += 1
                return MirroredServiceInput(
                    routes: routes, remote: remote, links: MirroredServiceLinks(known: true, synced: ["west": true]))
            }
        }

        /// Waits until `holder`'s writer has run `count` whole reconciliation passes begun after
        /// the call: passes run one at a time, so the pass after them has read the input.
        func passes(_ count: Int, by holder: String) async -> Bool {
            let before = lock.withLock { reads[holder, default: 0] }
            return await eventually(timeout: .seconds(10)) { lock.withLock { reads[holder, default: 0] } > before + count }
        }
    }

    /// A test cluster with the namespaces, an admin client and an empty input; shuts the client
    /// down and stops the cluster after `body`.
    static func withCluster(_ body: (TestKubeCluster, KubeClient, InputBox) async throws -> Void) async throws {
        let cluster = try TestKubeCluster()
        defer { cluster.stop() }
        try await cluster.makeNamespaces(["default", "meshgate-multicluster"])
        let admin = try cluster.client()
        do {
            try await body(cluster, admin, InputBox())
        } catch {
            await admin.shutdown()
            throw error
        }
        await admin.shutdown()
    }

    static func writer(_ cluster: TestKubeCluster, holder: String, input: InputBox) throws -> KubernetesMirrorWriter {
        let settings = KubernetesMirrorSettings(
            api: cluster.api, gatewaySelector: selector, leaseName: "meshgate-mirror", leaseNamespace: "meshgate-multicluster",
            leaseDuration: .seconds(3), leaseRetry: .milliseconds(500), holder: holder, writesPerSecond: 50)
        let logger = Logger(label: "mirror-writer-\(holder)")
        return KubernetesMirrorWriter(
            settings: settings, client: try cluster.client(), leaseClient: try cluster.client(), logger: logger,
            recheckInterval: .seconds(1)
        ) { input.input(readBy: holder) }
    }

    static func get(_ client: KubeClient, _ name: String) async -> KubeService? {
        try? await client.get(KubeService.self, namespace: "default", name: name)
    }

    @Test func createsOneUpdateForAChangeNothingAfterARestartDeletesOnWithdrawal() async throws {
        try await Self.withCluster { cluster, admin, input in
            input.set([("redis", 6379, 4203, "redis")])
            let writer = try Self.writer(cluster, holder: "a", input: input)
            writer.start()
            #expect(await eventually(timeout: .seconds(10)) { await Self.get(admin, "redis-west") != nil })
            let s = try #require(await Self.get(admin, "redis-west"))
            #expect(s.spec.type == "ClusterIP")
            #expect(s.spec.selector == Self.selector)
            #expect(s.spec.ports == [KubeService.Port(name: "redis", port: 6379, targetPort: .int(4203), protocol: "TCP")])
            #expect(KubernetesNames.isOwned(labels: s.metadata.labels))
            #expect(s.metadata.labels?["mirror.linkerd.io/cluster-name"] == "west")
            #expect(s.metadata.annotations?["mirror.linkerd.io/remote-gateway-identity"] == Self.identity)
            #expect(s.metadata.annotations?["mirror.linkerd.io/remote-svc-fq-name"] == "redis.default.svc.cluster.local")
            // The informer's echo of the write and the periodic pass (every second) write nothing.
            #expect(await eventually(timeout: .seconds(10)) { writer.status.written == 1 })
            #expect(await input.passes(2, by: "a"))
            #expect(writer.client.requestCounts.writes == 1)
            #expect(await Self.get(admin, "redis-west")?.metadata.resourceVersion == s.metadata.resourceVersion)

            input.set([("redis", 6379, 4300, "redis")])
            writer.poke()
            #expect(
                await eventually(timeout: .seconds(10)) { await Self.get(admin, "redis-west")?.spec.ports?.first?.targetPort == .int(4300) }
            )
            #expect(await input.passes(2, by: "a"))
            #expect(writer.client.requestCounts.update == 1)
            #expect(writer.client.requestCounts.writes == 2)
            #expect(await Self.get(admin, "redis-west")?.spec.clusterIP == s.spec.clusterIP)
            #expect(writer.status.writes == ["create": 1, "update": 1])

            // A restart (a new writer, the same routes): the Service is right, nothing is written.
            await writer.stop()
            let restarted = try Self.writer(cluster, holder: "a", input: input)
            restarted.start()
            #expect(await eventually(timeout: .seconds(10)) { restarted.isLeader && restarted.status.written == 1 })
            #expect(await input.passes(2, by: "a"))
            #expect(restarted.client.requestCounts.writes == 0)

            input.set([])
            restarted.poke()
            #expect(await eventually(timeout: .seconds(10)) { await Self.get(admin, "redis-west") == nil })
            #expect(await input.passes(2, by: "a"))
            #expect(restarted.client.requestCounts.delete == 1)
            #expect(restarted.client.requestCounts.writes == 1)
            let status = restarted.status
            #expect(status.writes == ["delete": 1])
            #expect(status.leader)
            #expect(status.desired == 0)
            #expect(status.written == 0)
            #expect(status.pending == 0)
            await restarted.stop()
        }
    }

    @Test func aForeignServiceIsLeftAloneReportedAndHealsWhenItGoes() async throws {
        try await Self.withCluster { cluster, admin, input in
            let foreign = try await admin.create(
                KubeService(
                    metadata: KubeObjectMeta(name: "redis-west", namespace: "default", labels: ["app": "redis"]),
                    spec: .init(
                        type: "ClusterIP", selector: ["app": "redis"], ports: [.init(name: "x", port: 1234, targetPort: .int(1234))])))
            input.set([("redis", 6379, 4203, "")])
            let writer = try Self.writer(cluster, holder: "a", input: input)
            writer.start()
            #expect(await eventually(timeout: .seconds(10)) { writer.status.conflicts.map(\.key) == ["default/redis-west"] })
            // Two re-checks (each reads the Service), and the pass after the second.
            let reads = writer.client.requestCounts.get
            #expect(await eventually(timeout: .seconds(10)) { writer.client.requestCounts.get >= reads + 2 })
            #expect(await input.passes(1, by: "a"))
            let after = try #require(await Self.get(admin, "redis-west"))
            #expect(after.metadata.resourceVersion == foreign.metadata.resourceVersion)
            #expect(after.metadata.labels == ["app": "redis"])
            #expect(writer.client.requestCounts.update == 0)
            #expect(writer.client.requestCounts.delete == 0)
            #expect(writer.client.requestCounts.create <= 1)  // the one create answered 409 AlreadyExists
            #expect(writer.status.conflicts.first?.reason.contains("managed-by") == true)

            try await admin.delete(
                KubeService.self, namespace: "default", name: "redis-west", preconditionUID: nil, preconditionResourceVersion: nil)
            #expect(
                await eventually(timeout: .seconds(10)) {
                    KubernetesNames.isOwned(labels: await Self.get(admin, "redis-west")?.metadata.labels)
                })
            #expect(await eventually(timeout: .seconds(10)) { writer.status.conflicts.isEmpty })
            await writer.stop()
        }
    }

    @Test func onlyTheLeaseHolderWritesAndTheOtherTakesOverWithoutWriting() async throws {
        try await Self.withCluster { cluster, admin, input in
            input.set([("a", 80, 4000, "http"), ("b", 81, 4001, "http"), ("c", 82, 4002, "http")])
            let first = try Self.writer(cluster, holder: "gateway-0", input: input)
            let second = try Self.writer(cluster, holder: "gateway-1", input: input)
            first.start()
            second.start()
            #expect(await eventually(timeout: .seconds(10)) { first.isLeader != second.isLeader })
            let names = ["a-west", "b-west", "c-west"]
            #expect(await eventually(timeout: .seconds(10)) { await names.asyncAllSatisfy { await Self.get(admin, $0) != nil } })
            let (leader, follower) = first.isLeader ? (first, second) : (second, first)
            #expect(await eventually(timeout: .seconds(10)) { follower.status.written == 3 })
            #expect(await input.passes(2, by: leader === first ? "gateway-0" : "gateway-1"))
            #expect(leader.client.requestCounts.create == 3)
            #expect(leader.client.requestCounts.writes == 3)
            #expect(follower.client.requestCounts.writes == 0)
            #expect(follower.status.written == 3)  // every replica sees the owned Services
            let uids = await names.asyncMap { await Self.get(admin, $0)?.metadata.uid }

            await leader.stop()  // releases the Lease
            #expect(await eventually(timeout: .seconds(5)) { follower.isLeader })
            #expect(await input.passes(2, by: follower === first ? "gateway-0" : "gateway-1"))
            #expect(follower.client.requestCounts.writes == 0)  // the objects are right: nothing to write
            #expect(await names.asyncMap { await Self.get(admin, $0)?.metadata.uid } == uids)

            input.set([("a", 80, 4000, "http"), ("b", 81, 4001, "http"), ("c", 82, 4002, "http"), ("d", 83, 4003, "")])
            follower.poke()
            #expect(await eventually(timeout: .seconds(10)) { await Self.get(admin, "d-west") != nil })
            #expect(follower.client.requestCounts.writes == 1)
            await follower.stop()
        }
    }
}

extension Array {
    func asyncAllSatisfy(_ check: (Element) async -> Bool) async -> Bool {
        for e in self where !(await check(e)) { return false }
        return true
    }

    func asyncMap<T>(_ transform: (Element) async -> T) async -> [T] {
        var out: [T] = []
        for e in self { out.append(await transform(e)) }
        return out
    }
}
