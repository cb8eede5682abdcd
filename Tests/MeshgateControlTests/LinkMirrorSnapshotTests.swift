import Foundation
import MeshgateLoop
import MeshgateWire
import Testing

@testable import MeshgateControl
import MeshgateTestKit

/// The discover stream's snapshot framing as the mirror enforces it.
@Suite(.serialized) struct LinkMirrorSnapshotTests {
    typealias T = LinkMirrorTests

    @Test("a snapshotBegin of another generation inside an open snapshot is a protocol error: the stream is closed, nothing of it applied")
    func secondBeginIsAnError() async throws {
        let web = T.service("default", "web", [80])
        let api = T.service("default", "api", [81])
        let ended = LockedBox(false)
        let server = try MirrorTestServer(scripts: [
            { session in
                session.send(T.snapshot(1, [web]))
                // Begins generation 2, then generation 3 inside it.
                session.send([.snapshotBegin(generation: 2), .upsert(api), .snapshotBegin(generation: 3), .snapshotEnd(generation: 3)])
                ended.modify { $0 = session.waitForPeerEnd(seconds: 5) }
            },
        ])
        defer { server.stop() }
        let observed = T.Observed()
        let mirror = try T.startedMirror(gateways: [server.address], settings: LinkSettings(probeInterval: .seconds(5)), observed: observed)
        defer { mirror.stop() }
        #expect(await eventually { observed.log.contains("inside snapshot 2") }, "\(observed.log.all)")
        #expect(await eventually { ended.value }, "the mirror closed the stream")
        #expect(mirror.state.services == T.byKey([web]), "the broken snapshot is not applied")
    }
}
