import Foundation
import MeshgateTestKit
import Testing

@testable import MeshgateKube

extension KubeAPIServerTests {
    @Suite struct Lease {
        private func elector(_ client: KubeClient, _ name: String, _ id: String, _ changes: Latest<Bool>)
            -> KubeLeaseElector
        {
            KubeLeaseElector(
                client: client, namespace: "default", name: name, identity: id, leaseDuration: .seconds(2),
                retryPeriod: .milliseconds(300), logger: .init(label: id)
            ) { leading in changes.set(leading) }
        }

        /// Electors "a" and "b" of a fresh Lease named `prefix-…` (not started), with the changes each reports.
        private func pair(_ client: KubeClient, _ prefix: String)
            -> (name: String, a: KubeLeaseElector, b: KubeLeaseElector, ca: Latest<Bool>, cb: Latest<Bool>)
        {
            let name = "\(prefix)-\(UUID().uuidString.prefix(6).lowercased())"
            let (ca, cb) = (Latest<Bool>(), Latest<Bool>())
            return (name, elector(client, name, "a", ca), elector(client, name, "b", cb), ca, cb)
        }

        private func leaders(_ electors: [KubeLeaseElector]) -> Int { electors.filter(\.isLeader).count }

        @Test func exactlyOneLeadsAndReleaseHandsOverAtOnce() async throws {
            let client = try KubeTestCluster.shared().client()
            defer { client.syncShutdown() }
            let (name, a, b, ca, cb) = pair(client, "handover")
            a.start()
            b.start()
            #expect(await eventually { leaders([a, b]) == 1 })
            for _ in 0..<10 {  // stays exactly one over several renewals
                #expect(leaders([a, b]) == 1)
                try await Task.sleep(for: .milliseconds(100))
            }
            let (leader, follower) = a.isLeader ? (a, b) : (b, a)
            let lease = try await client.get(KubeLease.self, namespace: "default", name: name)
            #expect(lease.spec.holderIdentity == (leader === a ? "a" : "b"))
            #expect(leader.status.leading && leader.status.lastRenew != nil)
            #expect(follower.status.holder == lease.spec.holderIdentity)

            let released = ContinuousClock.now
            await leader.release()
            #expect(!leader.isLeader)
            #expect(await eventually(timeout: .seconds(2)) { follower.isLeader })
            // At its next read (one retry period), not after the 2 s lease duration.
            #expect(ContinuousClock.now - released < .milliseconds(1500))
            let after = try await client.get(KubeLease.self, namespace: "default", name: name)
            #expect(after.spec.holderIdentity == (follower === a ? "a" : "b"))
            #expect((after.spec.leaseTransitions ?? 0) >= 1)
            #expect((leader === a ? ca : cb).value == false)
            #expect((follower === a ? ca : cb).value == true)
            await follower.release()
        }

        @Test func vanishedHolderIsReplacedWithinTheLeaseDuration() async throws {
            let client = try KubeTestCluster.shared().client()
            defer { client.syncShutdown() }
            let (name, a, b, _, _) = pair(client, "vanish")
            a.start()
            #expect(await eventually { a.isLeader })
            b.start()
            #expect(await eventually { b.status.holder == "a" }, "b has read a's Lease")
            let renewed = a.status.lastRenew
            #expect(await eventually { a.status.lastRenew != renewed }, "and a has renewed it since")
            #expect(!b.isLeader)
            let lastRenew = try #require(a.status.lastRenew)
            await a.abandon()
            #expect(await eventually(timeout: .seconds(4)) { b.isLeader })
            let takeover = Date().timeIntervalSince(lastRenew)
            #expect(takeover <= 2.5, "took over \(takeover) s after the last renewal")
            #expect(takeover >= 1.5, "took over \(takeover) s after the last renewal: before expiry")
            let lease = try await client.get(KubeLease.self, namespace: "default", name: name)
            #expect(lease.spec.holderIdentity == "b")
            #expect(b.status.transitions == lease.spec.leaseTransitions)
            await b.release()
        }

        @Test func holderStepsDownWhenItCannotRenew() async throws {
            let cluster = try KubeTestCluster.shared()
            let client = cluster.client()
            defer { client.syncShutdown() }
            let name = "stepdown-\(UUID().uuidString.prefix(6).lowercased())"
            let changes = Latest<Bool>()
            let a = elector(client, name, "a", changes)
            a.start()
            #expect(await eventually { a.isLeader })
            try cluster.stopAPIServer()
            let stopped = ContinuousClock.now
            #expect(await eventually(timeout: .seconds(4)) { !a.isLeader })
            #expect(ContinuousClock.now - stopped < .milliseconds(2200))
            #expect(a.status.lastError != nil)
            #expect(changes.value == false)
            try cluster.startAPIServer()
            #expect(await eventually(timeout: .seconds(4)) { a.isLeader })  // its own lease: renewed again
            await a.release()
        }
    }
}
