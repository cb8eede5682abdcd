import Foundation
import Testing

@testable import MeshgateKube

extension KubeAPIServerTests {
    @Suite struct Watch {
        @Test func addedModifiedDeletedAndBookmarks() async throws {
            try await KubeTestCluster.withNamespace("watch") { client, ns in
                let start = try await client.list(KubeService.self, namespace: ns, labelSelector: nil)
                let events = client.watch(
                    KubeService.self, namespace: ns, labelSelector: nil, resourceVersion: start.resourceVersion,
                    timeoutSeconds: 10)
                let created = try await client.create(KubeService(metadata: .init(name: "a", namespace: ns)))
                var changed = created
                changed.metadata.labels = ["x": "y"]
                let modified = try await client.replace(changed)
                try await client.delete(KubeService.self, namespace: ns, name: "a")

                var seen: [String] = []
                var bookmarks = 0
                let deadline = ContinuousClock.now + .seconds(8)
                for try await event in events {
                    switch event {
                    case .added(let s): seen.append("ADDED \(s.metadata.resourceVersion ?? "")")
                    case .modified(let s):
                        seen.append("MODIFIED \(s.metadata.resourceVersion ?? "")")
                        #expect(s.metadata.labels == ["x": "y"])
                    case .deleted(let s): seen.append("DELETED \(s.metadata.name)")
                    case .bookmark(let rv):
                        bookmarks += 1
                        #expect(Int(rv) ?? 0 >= Int(start.resourceVersion) ?? 0)
                    }
                    if (seen.count == 3 && bookmarks > 0) || ContinuousClock.now > deadline { break }
                }
                #expect(
                    seen == [
                        "ADDED \(created.metadata.resourceVersion ?? "")",
                        "MODIFIED \(modified.metadata.resourceVersion ?? "")", "DELETED a",
                    ])
                #expect(bookmarks > 0)
                #expect(client.requestCounts.watch == 1)
            }
        }

        @Test func serverTimeoutEndsTheStreamCleanly() async throws {
            let client = try KubeTestCluster.shared().client()
            defer { client.syncShutdown() }
            let start = try await client.list(KubeLease.self, namespace: "kube-public", labelSelector: nil)
            let began = ContinuousClock.now
            var count = 0
            for try await _ in client.watch(
                KubeLease.self, namespace: "kube-public", labelSelector: nil, resourceVersion: start.resourceVersion,
                timeoutSeconds: 1)
            {
                count += 1
            }
            #expect(ContinuousClock.now - began < .seconds(5))
            #expect(count <= 2)  // bookmarks at most
        }

        @Test func compactedResourceVersionIsGone() async throws {
            let cluster = try KubeTestCluster.shared()
            let client = cluster.client()
            defer { client.syncShutdown() }
            let ns = try await client.makeNamespace("gone")
            let old = try await client.create(KubeService(metadata: .init(name: "a", namespace: ns)))
            _ = try await client.create(KubeService(metadata: .init(name: "b", namespace: ns)))
            try await cluster.compact()
            do {
                for try await _ in client.watch(
                    KubeService.self, namespace: ns, labelSelector: nil,
                    resourceVersion: old.metadata.resourceVersion ?? "1", timeoutSeconds: 5)
                {}
                Issue.record("the watch ended without 410")
            } catch let error as KubeError {
                #expect(error.isGone)
                #expect(error.reason == "Expired")
                #expect(error.message.contains("too old resource version"))
            }
        }
    }
}
