import MeshgateKube
import MeshgateWire
import Testing

@testable import MeshgateControl

/// Desired against observed Services: every action kind, and the cases that must not write.
@Suite struct MirroredServiceReconcilerTests {
    static let selector = ["app": "meshgate-gateway"]
    static let linked = MirroredServiceLinks(known: true, synced: ["west": true])

    static func plan(_ routes: [MirroredServiceRoute]) -> MirroredServicePlan {
        MirroredServicePlan.build(routes: routes, remote: [:], gatewaySelector: selector)
    }

    static func redis(listen: UInt16? = 4203, cluster: String = "west") -> MirroredServiceRoute {
        MirroredServicePlanTests.route("default", "redis", 6379, cluster: cluster, listen: listen)
    }

    /// The desired object as the API server gives it back: uid, resourceVersion, clusterIP set.
    static func stored(_ s: KubeService, rv: String = "10") -> KubeService {
        var s = s
        s.metadata.uid = "uid-\(s.metadata.name)"
        s.metadata.resourceVersion = rv
        s.spec.clusterIP = "10.96.0.17"
        return s
    }

    static func observed(_ services: [KubeService]) -> [String: KubeService] {
        Dictionary(uniqueKeysWithValues: services.map { ("\($0.metadata.namespace!)/\($0.metadata.name)", $0) })
    }

    @Test func aMissingServiceIsCreated() {
        let plan = Self.plan([Self.redis()])
        let actions = MirroredServiceReconciler.reconcile(plan: plan, observed: [:], foreign: [:], links: Self.linked)
        #expect(actions == [.create(plan.services["default/redis-west"]!)])
    }

    @Test func anEqualServiceIsNotRewritten() {
        let plan = Self.plan([Self.redis()])
        let existing = Self.stored(plan.services["default/redis-west"]!)
        let actions = MirroredServiceReconciler.reconcile(
            plan: plan, observed: Self.observed([existing]), foreign: [:], links: Self.linked)
        #expect(actions.isEmpty)
    }

    @Test func serverDefaultsAndForeignLabelsDoNotCauseAWrite() {
        let plan = Self.plan([Self.redis()])
        var existing = Self.stored(plan.services["default/redis-west"]!)
        existing.metadata.labels?["team"] = "payments"
        existing.metadata.annotations?["note"] = "added by kubectl annotate"
        #expect(
            MirroredServiceReconciler.reconcile(plan: plan, observed: Self.observed([existing]), foreign: [:], links: Self.linked).isEmpty)
    }

    @Test func aChangedPortIsOneUpdateKeepingClusterIPResourceVersionAndForeignLabels() throws {
        let before = Self.stored(Self.plan([Self.redis(listen: 4203)]).services["default/redis-west"]!, rv: "41")
        var existing = before
        existing.metadata.labels?["team"] = "payments"
        let plan = Self.plan([Self.redis(listen: 4300)])
        let actions = MirroredServiceReconciler.reconcile(plan: plan, observed: Self.observed([existing]), foreign: [:], links: Self.linked)
        #expect(actions.count == 1)
        guard case .update(let s) = try #require(actions.first) else {
            Issue.record("expected an update, got \(actions)")
            return
        }
        #expect(s.spec.ports?.first?.targetPort == .int(4300))
        #expect(s.metadata.resourceVersion == "41")
        #expect(s.metadata.uid == "uid-redis-west")
        #expect(s.spec.clusterIP == "10.96.0.17")
        #expect(s.metadata.labels?["team"] == "payments")
        #expect(s.metadata.labels?["mirror.linkerd.io/cluster-name"] == "west")
    }

    @Test func aChangedAnnotationIsAnUpdate() {
        let plan = Self.plan([Self.redis()])
        var existing = Self.stored(plan.services["default/redis-west"]!)
        existing.metadata.annotations?["mirror.linkerd.io/remote-gateway-identity"] = "spiffe://mesh.local/ns/old/sa/gateway"
        let actions = MirroredServiceReconciler.reconcile(plan: plan, observed: Self.observed([existing]), foreign: [:], links: Self.linked)
        #expect(actions.map(\.key) == ["default/redis-west"])
        #expect(actions.first?.isWrite == true)
    }

    @Test func aWithdrawnServiceOfASyncedClusterIsDeleted() {
        let existing = Self.stored(Self.plan([Self.redis()]).services["default/redis-west"]!)
        let actions = MirroredServiceReconciler.reconcile(
            plan: MirroredServicePlan(), observed: Self.observed([existing]), foreign: [:], links: Self.linked)
        #expect(actions == [.delete(namespace: "default", name: "redis-west", uid: "uid-redis-west", reason: "withdrawn by cluster west")])
    }

    @Test func anOwnedServiceOfALinkedClusterNotYetSyncedIsKept() {
        let existing = Self.stored(Self.plan([Self.redis()]).services["default/redis-west"]!)
        let actions = MirroredServiceReconciler.reconcile(
            plan: MirroredServicePlan(), observed: Self.observed([existing]), foreign: [:],
            links: MirroredServiceLinks(known: true, synced: ["west": false]))
        #expect(actions.isEmpty)
    }

    @Test func orphansOfUnlinkedClustersAreDeletedOnlyOnceTheLinksAreKnown() {
        let existing = Self.stored(Self.plan([Self.redis(cluster: "gone")]).services["default/redis-gone"]!)
        let before = MirroredServiceReconciler.reconcile(
            plan: MirroredServicePlan(), observed: Self.observed([existing]), foreign: [:],
            links: MirroredServiceLinks(known: false, synced: [:]))
        #expect(before.isEmpty)
        let after = MirroredServiceReconciler.reconcile(
            plan: MirroredServicePlan(), observed: Self.observed([existing]), foreign: [:], links: Self.linked)
        #expect(after == [.delete(namespace: "default", name: "redis-gone", uid: "uid-redis-gone", reason: "cluster gone is not linked")])
    }

    @Test func aServiceWaitingForAListenerIsNeitherWrittenNorDeleted() {
        let existing = Self.stored(Self.plan([Self.redis()]).services["default/redis-west"]!)
        let plan = Self.plan([Self.redis(listen: nil)])
        #expect(plan.waiting == ["default/redis-west"])
        #expect(
            MirroredServiceReconciler.reconcile(plan: plan, observed: Self.observed([existing]), foreign: [:], links: Self.linked).isEmpty)
    }

    @Test func aForeignServiceOfTheNameIsAConflictAndNeverTouched() {
        let plan = Self.plan([Self.redis()])
        var foreign = Self.stored(plan.services["default/redis-west"]!)
        foreign.metadata.labels = ["app": "redis"]
        foreign.spec.ports = [KubeService.Port(name: nil, port: 1, targetPort: .int(1), protocol: "TCP")]
        let actions = MirroredServiceReconciler.reconcile(plan: plan, observed: Self.observed([foreign]), foreign: [:], links: Self.linked)
        #expect(actions.count == 1)
        #expect(actions.allSatisfy { !$0.isWrite })
        guard case .conflict(let c) = actions.first else {
            Issue.record("expected a conflict, got \(actions)")
            return
        }
        #expect(c.key == "default/redis-west")
        #expect(c.reason.contains("app.kubernetes.io/managed-by=meshgate missing"))
        // Withdrawn: a foreign Service is not deleted either.
        #expect(
            MirroredServiceReconciler.reconcile(
                plan: MirroredServicePlan(), observed: Self.observed([foreign]), foreign: [:], links: Self.linked
            ).isEmpty)
    }

    @Test func aLinkerdMirroredServiceWithoutManagedByIsNotOwned() {
        let plan = Self.plan([Self.redis()])
        var linkerd = Self.stored(plan.services["default/redis-west"]!)
        linkerd.metadata.labels?["app.kubernetes.io/managed-by"] = nil
        let actions = MirroredServiceReconciler.reconcile(
            plan: MirroredServicePlan(), observed: Self.observed([linkerd]), foreign: [:], links: Self.linked)
        #expect(actions.isEmpty)
    }

    @Test func aKnownForeignNameNotInTheCacheIsAConflictNotACreate() {
        let plan = Self.plan([Self.redis()])
        let actions = MirroredServiceReconciler.reconcile(
            plan: plan, observed: [:], foreign: ["default/redis-west": "exists, not meshgate's"], links: Self.linked)
        #expect(actions == [.conflict(MirrorServiceConflict(namespace: "default", name: "redis-west", reason: "exists, not meshgate's"))])
    }

    @Test func deletesComeBeforeCreatesAndAreInKeyOrder() {
        let old = Self.stored(Self.plan([Self.redis(cluster: "gone")]).services["default/redis-gone"]!)
        let plan = Self.plan([Self.redis(), MirroredServicePlanTests.route("a", "x", 80, listen: 4000)])
        let actions = MirroredServiceReconciler.reconcile(plan: plan, observed: Self.observed([old]), foreign: [:], links: Self.linked)
        #expect(actions.map(\.key) == ["default/redis-gone", "a/x-west", "default/redis-west"])
    }

    @Test func theTokenBucketAllowsABurstThenSpacesWrites() {
        let t0 = ContinuousClock.now
        var bucket = WriteTokenBucket(perSecond: 2, now: t0)
        #expect(bucket.reserve(now: t0) == .zero)
        #expect(bucket.reserve(now: t0) == .zero)
        #expect(bucket.reserve(now: t0) == .milliseconds(500))
        #expect(bucket.reserve(now: t0) == .milliseconds(1000))
        var slow = WriteTokenBucket(perSecond: 0.5, now: t0)
        #expect(slow.reserve(now: t0) == .zero)
        #expect(slow.reserve(now: t0 + .seconds(1)) == .seconds(1))
    }
}
