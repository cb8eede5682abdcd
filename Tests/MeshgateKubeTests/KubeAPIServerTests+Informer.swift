import Foundation
import MeshgateTestKit
import Testing

@testable import MeshgateKube

/// The latest value a callback delivered, and how many times it was called.
final class Latest<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?
    private var calls = 0

    func set(_ value: Value) {
        lock.lock()
        defer { lock.unlock() }
        stored = value
        calls += 1
    }

    var value: Value? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return calls
    }
}

extension KubeAPIServerTests {
    @Suite struct Informer {
        private func informer(
            _ client: KubeClient, _ ns: String, selector: KubeLabelSelector? = nil, watchTimeout: Duration = .seconds(30)
        ) -> (KubeInformer<KubeService>, Latest<Set<String>>) {
            let latest = Latest<Set<String>>()
            let informer = KubeInformer<KubeService>(
                client: client, namespace: ns, labelSelector: selector, logger: .init(label: "informer"),
                watchTimeout: watchTimeout, backoff: .init(initial: .milliseconds(100), max: .milliseconds(400)),
                coalesce: .milliseconds(20)
            ) { cache in latest.set(Set(cache.keys)) }
            return (informer, latest)
        }

        @Test func listsThenFollowsChangesWithASelector() async throws {
            try await KubeTestCluster.withNamespace("inf") { client, ns in
                let exported = ["mirror.linkerd.io/exported": "true"]
                _ = try await client.create(KubeService(metadata: .init(name: "a", namespace: ns, labels: exported)))
                _ = try await client.create(KubeService(metadata: .init(name: "hidden", namespace: ns)))
                let (informer, latest) = informer(client, ns, selector: .init(matching: exported), watchTimeout: .seconds(1))
                informer.start()
                defer { informer.stop() }
                #expect(await eventually { latest.value == ["\(ns)/a"] })
                #expect(informer.status.synced)
                #expect(informer.status.lastSync != nil)

                var hidden = try await client.get(KubeService.self, namespace: ns, name: "hidden")
                hidden.metadata.labels = exported  // starts to match: ADDED
                _ = try await client.replace(hidden)
                _ = try await client.create(KubeService(metadata: .init(name: "b", namespace: ns, labels: exported)))
                #expect(await eventually { latest.value == ["\(ns)/a", "\(ns)/hidden", "\(ns)/b"] })
                try await client.delete(KubeService.self, namespace: ns, name: "a")
                #expect(await eventually { latest.value == ["\(ns)/hidden", "\(ns)/b"] })
                #expect(informer.cache["\(ns)/b"]?.metadata.labels == exported)

                // Watches of 1 s end and restart from the last resourceVersion without a re-list.
                #expect(await eventually { informer.status.watchRestarts >= 1 })
                let status = informer.status
                #expect(status.watchRestarts >= 1)
                #expect(status.relists == 0)
                #expect(status.lastError == nil)
                #expect(client.requestCounts.list == 1)
                _ = try await client.create(KubeService(metadata: .init(name: "c", namespace: ns, labels: exported)))
                #expect(await eventually { latest.value?.contains("\(ns)/c") == true })
            }
        }

        @Test func ridesOutAnAPIServerOutageAndRelistsAfterCompaction() async throws {
            let cluster = try KubeTestCluster.shared()
            let client = cluster.client()
            defer { client.syncShutdown() }
            let ns = try await client.makeNamespace("outage")
            _ = try await client.create(KubeService(metadata: .init(name: "a", namespace: ns)))
            _ = try await client.create(KubeService(metadata: .init(name: "b", namespace: ns)))
            let (informer, latest) = informer(client, ns)
            informer.start()
            defer { informer.stop() }
            #expect(await eventually { latest.value == ["\(ns)/a", "\(ns)/b"] })

            try cluster.stopAPIServer()
            #expect(await eventually { informer.status.lastError != nil })
            for _ in 0..<3 {  // a few failed attempts (backoff 100–400 ms), each one recorded
                let failedAt = informer.status.lastErrorAt
                #expect(await eventually { informer.status.lastErrorAt != failedAt })
            }
            let down = informer.status
            #expect(down.lastErrorAt != nil)
            #expect(down.lastError?.contains("Transport") == true)
            #expect(informer.cache.count == 2)  // the last good state is kept
            #expect(latest.value == ["\(ns)/a", "\(ns)/b"])

            // While the server is down: b goes away behind its back, and history is compacted,
            // so the informer's resourceVersion is too old: it must list again to see it.
            let key = Data("/registry/core/services/\(ns)/b".utf8).base64EncodedString()
            _ = try await KubeTestHTTP.post(cluster.info.etcd + "/v3/kv/deleterange", body: "{\"key\": \"\(key)\"}")
            try await cluster.compact()
            try cluster.startAPIServer()

            #expect(await eventually(timeout: .seconds(8)) { latest.value == ["\(ns)/a"] })
            let status = informer.status
            #expect(status.goneRelists >= 1)
            #expect(status.relists >= 1)
            #expect(status.watchRestarts >= 1)
            #expect((status.lastSync ?? .distantPast) > (down.lastErrorAt ?? .distantFuture))
            _ = try await client.create(KubeService(metadata: .init(name: "c", namespace: ns)))
            #expect(await eventually { latest.value == ["\(ns)/a", "\(ns)/c"] })
        }

        @Test func callbacksAreCoalesced() async throws {
            try await KubeTestCluster.withNamespace("burst") { client, ns in
                let calls = Latest<[ContinuousClock.Instant]>()
                let sizes = Latest<Int>()
                let informer = KubeInformer<KubeService>(
                    client: client, namespace: ns, labelSelector: nil, logger: .init(label: "informer"),
                    coalesce: .milliseconds(200)
                ) { cache in
                    calls.set((calls.value ?? []) + [.now])
                    sizes.set(cache.count)
                }
                informer.start()
                defer { informer.stop() }
                #expect(await eventually { calls.count == 1 })
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for i in 0..<12 {
                        group.addTask { _ = try await client.create(KubeService(metadata: .init(name: "s\(i)", namespace: ns))) }
                    }
                    try await group.waitForAll()
                }
                #expect(await eventually { sizes.value == 12 })
                let times = calls.value ?? []
                #expect(times.count < 13)  // not one call per event
                for (a, b) in zip(times, times.dropFirst()) {
                    #expect(b - a >= .milliseconds(190), "two calls \(b - a) apart")
                }
            }
        }

        @Test func stopEndsTheLoopAndTheCallbacks() async throws {
            try await KubeTestCluster.withNamespace("stop") { client, ns in
                let (informer, latest) = informer(client, ns)
                informer.start()
                #expect(await eventually { latest.count == 1 })
                await informer.shutdown()
                let calls = latest.count
                // A second informer of the namespace, still running, shows when the event was delivered.
                let (witness, witnessed) = self.informer(client, ns)
                witness.start()
                defer { witness.stop() }
                #expect(await eventually { witnessed.count == 1 })
                _ = try await client.create(KubeService(metadata: .init(name: "late", namespace: ns)))
                #expect(await eventually { witnessed.value?.contains("\(ns)/late") == true })
                #expect(latest.count == calls)
            }
        }
    }
}
