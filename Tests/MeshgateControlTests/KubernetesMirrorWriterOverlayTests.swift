import MeshgateKube
import Testing

@testable import MeshgateControl

/// When the writer stops trusting its own last write over the informer's cache.
@Suite struct KubernetesMirrorWriterOverlayTests {
    static func service(uid: String, rv: String) -> KubeService {
        var s = KubeService(metadata: KubeObjectMeta(name: "redis-west", namespace: "default"))
        s.metadata.uid = uid
        s.metadata.resourceVersion = rv
        return s
    }

    @Test func theCacheHasCaughtUpAtTheSameOrANewerVersionOfTheSameObject() {
        let written = Self.service(uid: "u1", rv: "120")
        #expect(!KubernetesMirrorWriter.caughtUp(nil, with: written))
        #expect(!KubernetesMirrorWriter.caughtUp(Self.service(uid: "u1", rv: "119"), with: written))
        #expect(KubernetesMirrorWriter.caughtUp(Self.service(uid: "u1", rv: "120"), with: written))
        #expect(KubernetesMirrorWriter.caughtUp(Self.service(uid: "u1", rv: "121"), with: written))
        // Another object of the same name (deleted and created again) is not the write.
        #expect(!KubernetesMirrorWriter.caughtUp(Self.service(uid: "u2", rv: "200"), with: written))
        // Versions that are not numbers are compared for equality only.
        #expect(KubernetesMirrorWriter.caughtUp(Self.service(uid: "u1", rv: "abc"), with: Self.service(uid: "u1", rv: "abc")))
        #expect(!KubernetesMirrorWriter.caughtUp(Self.service(uid: "u1", rv: "abd"), with: Self.service(uid: "u1", rv: "abc")))
    }
}
